"""The prose of docs/benchmarks.md that quotes numbers, computed from the rendered tables it sits above,
so that no sentence can disagree with them. A sentence whose table is missing is left out."""

from __future__ import annotations


def tables(block: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of ``block`` as rows keyed by the header's cells."""
    found, lines = [], block.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("|") and k + 1 < len(lines) and lines[k + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[k + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=True)))
            found.append(rows)
    return found


def _find(found: list[list[dict[str, str]]], *columns: str) -> list[dict[str, str]]:
    """The first table having every one of ``columns`` (empty if none has)."""
    return next((t for t in found if t and all(c in t[0] for c in columns)), [])


def _span(values) -> str:
    values = list(values)
    return f"{min(values):.1f}–{max(values):.1f}"


def _atoms(rows) -> str:
    sizes = sorted({int(r["atoms"]) for r in rows})
    return f"{sizes[0]}–{sizes[-1]}" if len(sizes) > 1 else f"{sizes[0]}"


def _lammps(rows, potentials, skin, large: bool) -> str:
    """Range of ×LAMMPS (float64) over ``potentials`` at ``skin``, at ≥ 1000 atoms or below."""
    chosen = [r for r in rows if r["potential"] in potentials and r["skin Å"] == skin and r["×LAMMPS"]
              and (int(r["atoms"]) >= 1000) == large and r.get("dtype", "float64") == "float64"]
    return f"{_span(float(r['×LAMMPS'].split()[0]) for r in chosen)} times LAMMPS at {_atoms(chosen)} atoms"


def _md(found) -> list[str]:
    md = [r for r in _find(found, "Δx vs LAMMPS Å") if r["code"] == "ffdiff"]
    if not md:
        return []

    def speedup(name):  # float64 over float32 time, case by case
        time = {(r["atoms"], r["skin Å"], r["dtype"]): float(r["µs/atom-step"]) for r in md if r["potential"] == name}
        return _span(time[k] / time[(*k[:2], "float32")] for k in time if k[2] == "float64")

    def exact(r):  # a list valid for the whole run: no atom moved more than half its skin
        return r["Δx vs LAMMPS Å"] and "> skin/2" not in r["max disp Å"]

    def dx(dtype):
        return f"{max(float(r['Δx vs LAMMPS Å']) for r in md if r['dtype'] == dtype and exact(r)):.1e}"

    return [f"- *MD on one list.* EDIP with a 1 Å skin runs at {_lammps(md, ['edip'], '1.00', True)}, Tersoff "
            f"at {_lammps(md, ['tersoff'], '1.00', True)}; float32 makes SW {speedup('sw')} and the MPGNN "
            f"{speedup('mpgnn')} times faster than float64, its trajectories within {dx('float32')} Å of LAMMPS's "
            f"(float64: {dx('float64')} Å) where the list stayed valid (no atom moved over half its skin)."]


def _driver(found) -> list[str]:
    runs = [r for r in _find(found, "list rebuilds", "×LAMMPS") if r["code"] == "ffdiff run_md"]
    if not runs:
        return []
    return [f"- *MD with list rebuilds* (`run_md`). With LAMMPS's 0.5 Å skin: "
            f"{_lammps(runs, ['sw', 'edip'], '0.50', True)}, {_lammps(runs, ['sw', 'edip'], '0.50', False)}. "
            f"With a 1 Å skin no rebuild is needed but EDIP runs at {_lammps(runs, ['edip'], '1.00', True)}."]


def _gradient(found) -> list[str]:
    grad = {(r["steps"], r["mode"]): r for r in _find(found, "×forward")}
    steps = sorted({int(s) for s, _ in grad})
    if len(steps) < 2 or (str(steps[-1]), "remat") not in grad:
        return []
    long, short = grad[str(steps[-1]), "remat"], grad[str(steps[0]), "remat"]
    rss = float(long["peak RSS MB"]) / float(short["peak RSS MB"])
    return [f"- *Gradients through MD* (checkpointed every step). Through {steps[-1]} steps the gradient costs "
            f"{float(long['×forward']):.1f} times the forward run, and peak memory is {rss:.1f} times that at "
            f"{steps[0]} steps."]


def _fits(found) -> list[str]:
    fits = _find(found, "first evaluation s: cold / rerun / changed")
    if not fits:
        return []
    first = [[float(x) for x in r["first evaluation s: cold / rerun / changed"].split(" / ")] for r in fits]
    return [f"- *Classical fits.* A rerun computes its first loss {_span(f[1] for f in first)} s after the job "
            f"starts, and {_span(f[2] for f in first)} s after a change of weights, targets or fixed parameters."]


def _gnn(found) -> list[str]:
    steps = _find(found, "speed-up over mpgnn_before float64")
    if not steps:
        return []

    def faster(dtype):
        return _span(float(r["speed-up over mpgnn_before float64"]) for r in steps
                     if r["model"] in ("mpgnn", "mpgnn_radial") and r["dtype"] == dtype)

    text = (f"- *GNN training step.* The MPGNN's step is {faster('float64')} times faster than `mpgnn_before` "
            f"in float64 and {faster('float32')} times in float32; jax-md's EnergyGraphNet costs "
            f"{_span(float(r['×MPGNN']) for r in steps if r['model'] == 'energy_graph_net')} times the MPGNN per step.")
    if gnn_md := _find(found, "MD / evaluation"):
        text += (f" In MD a GNN step costs {_span(float(r['MD / evaluation']) for r in gnn_md)} times one "
                 "energy+forces evaluation on an exact-cutoff list.")
    return [text]


def _ablation(found) -> list[str]:
    rows = {(r["angular"], r["seed"]): r for r in _find(found, "FT-GNN E RMSE meV/atom")}
    if not rows:
        return []
    force, energy = "FT-GNN F RMSE eV/Å (2000 K test)", "FT-GNN E RMSE meV/atom"
    parts = []
    for angular in sorted({a for a, _ in rows}, key=int):
        seeds = sorted((s for a, s in rows if a == angular), key=int)
        values = " and ".join(rows[angular, s][force] for s in seeds)
        energies = " and ".join(rows[angular, s][energy] for s in seeds)
        parts.append(f"`angular: {angular}` (seeds {', '.join(seeds)}) {values} eV/Å ({energies} meV/atom)")
    return ["- *Angular terms.* FT-GNN test force RMSE: " + "; ".join(parts) + "."]


def _smoke(block: str, found) -> list[str]:
    text = []
    if "End to end: " in block:
        minutes = float(block.split("End to end: ", 1)[1].split(" min", 1)[0])
        text.append(f"the default study takes about {minutes:.0f} minutes end to end")
    smoke = {r["run"]: r for r in _find(found, "XLA compiling s (programs)")}
    if {"cold", "warm"} <= set(smoke):
        elapsed = next(k for k in smoke["cold"] if k.startswith("elapsed"))
        text.append(f"the smoke config spends {smoke['cold']['XLA compiling s (programs)'].split()[0]} of its "
                    f"{smoke['cold']['job time s (summed)']} s of job time compiling with an empty cache, and a "
                    f"second run takes {smoke['warm'][elapsed]} instead of {smoke['cold'][elapsed]}")
    joined = "; ".join(text)
    return [f"- *Whole runs.* {joined[:1].upper()}{joined[1:]}."] if text else []


def summary(block: str) -> str:
    """Bullets of what the tables of ``block`` say, every number computed from them."""
    found = tables(block)
    bullets = [*_md(found), *_driver(found), *_gradient(found), *_fits(found), *_gnn(found), *_ablation(found),
               *_smoke(block, found)]
    return "\n".join(bullets)
