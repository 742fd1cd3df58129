"""The README's benchmark block is the benchmarks' own output (benchmarks/report.py), not typed."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import BEGIN, END  # noqa: E402
from benchmarks.tables import (  # noqa: E402
    driver_table,
    fits_table,
    grad_table,
    md_table,
    smoke_table,
    stages_table,
    vmap_table,
)


def test_readme_benchmark_block_has_every_generated_table():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    for empty in (md_table([]), driver_table([]), grad_table([]), fits_table([]), vmap_table([]),
                  stages_table({"stages": [], "run": None}), smoke_table({"cores": 2, "runs": {}})):
        assert empty in block  # the header rows, exactly as rendered
    assert "benchmarks/md.py`, 20" in block  # dated by the run that made it
    for code in ("| lammps | sw |", "| lammps | edip |", "| jax-md | sw |", "| ffdiff | edip |", "| ffdiff | mpgnn |"):
        assert code in block
    assert "| ffdiff run_md |" in block
    assert "| 8000 |" in block and "End to end:" in block


def _tables(block: str) -> list[list[dict[str, str]]]:
    """Every markdown table of ``block`` as rows keyed by the header's cells."""
    tables, lines = [], block.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("|") and k + 1 < len(lines) and lines[k + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[k + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=True)))
            tables.append(rows)
    return tables


def _span(values) -> str:
    return f"{min(values):.1f}–{max(values):.1f}"


def test_readme_ratios_are_the_tables():
    """The ranges the README's prose quotes are those of the generated tables it sits above."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    tables = _tables(block)
    md = next(t for t in tables if "Δx vs LAMMPS Å" in t[0])
    driver = next(t for t in tables if "list rebuilds" in t[0])
    fits = next(t for t in tables if "first evaluation s: cold / rerun / changed" in t[0])
    grad = {(r["steps"], r["mode"]): r for r in next(t for t in tables if "×forward" in t[0])}
    smoke = {r["run"]: r for r in next(t for t in tables if "XLA compiling s (programs)" in t[0])}
    ours = [r for r in md if r["code"] == "ffdiff"]

    def ratios(rows, potential, skin, atoms):
        return [float(r["×LAMMPS"]) for r in rows if r["potential"] in potential and r["skin Å"] == skin
                and int(r["atoms"]) in atoms and r["×LAMMPS"] and r.get("dtype", "float64") == "float64"]

    def speedup(name):  # float64 over float32 time, case by case
        time = {(r["atoms"], r["skin Å"], r["dtype"]): float(r["µs/atom-step"])
                for r in ours if r["potential"] == name}
        return [time[k] / time[(*k[:2], "float32")] for k in time if k[2] == "float64"]

    runs = [r for r in driver if r["code"] == "ffdiff run_md"]
    claims = {
        f"{_span(ratios(ours, ['edip'], '1.00', (216, 1728, 8000)))} times LAMMPS at 216–8000 atoms",
        f"{_span(ratios(runs, ['sw', 'edip'], '0.50', (1728, 8000)))} times LAMMPS at 1728–8000 atoms",
        f"{_span(ratios(runs, ['sw', 'edip'], '0.50', (64, 216)))} times at 64–216",
        f"EDIP: {_span(ratios(runs, ['edip'], '1.00', (1728, 8000)))} times LAMMPS at 1728–8000 atoms",
        f"SW {_span(speedup('sw'))} and the MPGNN {_span(speedup('mpgnn'))} times faster",
        "within {:.1e} Å".format(max(float(r["Δx vs LAMMPS Å"]) for r in ours if r["dtype"] == "float32"
                                     and r["Δx vs LAMMPS Å"])).replace("e-0", "e-"),
        "float64: {:.1e} Å".format(max(float(r["Δx vs LAMMPS Å"]) for r in ours if r["dtype"] == "float64"
                                       and r["Δx vs LAMMPS Å"])).replace("e-0", "e-"),
    }
    first = [[float(x) for x in r["first evaluation s: cold / rerun / changed"].split(" / ")] for r in fits]
    claims |= {f"{_span([f[1] for f in first])} s after the job starts",
               f"{_span([f[2] for f in first])} s after a change"}
    remat_rss = float(grad[("1000", "remat")]["peak RSS MB"]) / float(grad[("200", "remat")]["peak RSS MB"])
    claims |= {f"gradient costs {float(grad[('1000', 'remat')]['×forward']):.1f} times the forward run",
               f"peak memory is {remat_rss:.1f} times that at 200 steps",
               f"spends {smoke['cold']['XLA compiling s (programs)'].split()[0]} of its "
               f"{smoke['cold']['job time s (summed)']} s of job time compiling",
               f"takes {smoke['warm']['elapsed (--cores 2)']} instead of {smoke['cold']['elapsed (--cores 2)']}"}
    steps = next(t for t in tables if "speed-up over mpgnn_before float64" in t[0])
    gnn_md = next(t for t in tables if "MD / evaluation" in t[0])

    def step_speedup(dtype):
        return [float(r["speed-up over mpgnn_before float64"]) for r in steps
                if r["model"] in ("mpgnn", "mpgnn_radial") and r["dtype"] == dtype]

    claims |= {f"{_span(step_speedup('float64'))} times faster in float64 and "
               f"{_span(step_speedup('float32'))} times in float32",
               f"{_span([float(r['×MPGNN']) for r in steps if r['model'] == 'energy_graph_net'])} times the MPGNN "
               "per step",
               f"a GNN step costs {_span([float(r['MD / evaluation']) for r in gnn_md])} times one energy+forces"}
    ablation = {(r["angular"], r["seed"]): r for r in next(t for t in tables if "FT-GNN E RMSE meV/atom" in t[0])}

    def pair(column, angular):
        return " and ".join(ablation[angular, seed][column] for seed in ("0", "1"))

    force, energy, own = "FT-GNN F RMSE eV/Å (2000 K test)", "FT-GNN E RMSE meV/atom", "pretrained F RMSE eV/Å (own test)"
    claims |= {f"RMSE of {pair(force, '0')} eV/Å (energy {pair(energy, '0')} meV/atom)",
               f"own-split RMSE of {pair(own, '0')} eV/Å",
               f"give {pair(force, '2')} eV/Å ({pair(energy, '2')} meV/atom) and {pair(own, '2')} eV/Å"}
    minutes = float(block.split("End to end: ", 1)[1].split(" min", 1)[0])
    claims.add(f"the whole study takes about {minutes:.0f} minutes on two cores")
    prose = " ".join(readme.split(BEGIN, 1)[0].split())  # line breaks as spaces
    for claim in claims:
        assert claim in prose, claim
