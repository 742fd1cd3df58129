"""Markdown tables of the benchmarks' results (plain formatting: no JAX, no LAMMPS)."""

from __future__ import annotations


def md_table(rows: list[dict]) -> str:
    lammps = {(r["potential"], r["n_atoms"]): r["us_per_atom_step"] for r in rows if r["code"] == "lammps"}
    lines = ["| code | potential | dtype | atoms | steps | µs/atom-step | ×LAMMPS | compile s | skin Å | nbrs/atom | "
             "short slots/atom | triplets/atom | max disp Å | fresh-list ΔE eV/atom | Δx vs LAMMPS Å |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ref = lammps.get(("sw" if r["potential"] == "mpgnn" else r["potential"], r["n_atoms"]))
        ratio = f"{r['us_per_atom_step'] / ref:.1f}" if (ref and r["code"] != "lammps") else ""
        if r["potential"] == "mpgnn" and ratio:
            ratio += " (vs SW)"
        cells = [""] * 8
        dx = f"{r['max_dx_vs_lammps']:.1e}" if "max_dx_vs_lammps" in r else ""
        if r["code"] == "ffdiff":
            disp = f"{r['max_displacement']:.3f}" + ("" if r["within_half_skin"] else " > skin/2")
            de = r["fresh_list_dE_per_atom"]
            short = f"{r['short_per_atom']:.1f}" if r["short_per_atom"] else ""
            if r.get("short_triplets_per_atom"):
                short += f" + {r['short_triplets_per_atom']:.1f} triplets"
            if r["short_overflow_steps"]:
                short += f" (overflow at {r['short_overflow_steps']} steps)"
            cells = [f"{r['compile_s']:.2f}", f"{r['skin']:.2f}", f"{r['edges_per_atom']:.1f}", short,
                     f"{r['triplets_per_atom']:.1f}", disp, "not finite" if de is None else f"{de:.1e}", dx]
        elif r["code"] == "jax-md":
            slots = f"{r['edges_per_atom']:.0f} dense" + (" (overflowed)" if r["list_overflow"] else "")
            cells = [f"{r['compile_s']:.2f}", f"{r['skin']:.2f}", slots, "", f"{r['edges_per_atom'] ** 2:.0f} dense",
                     "", "", dx]
        lines.append(f"| {r['code']} | {r['potential']} | {r['dtype']} | {r['n_atoms']} | {r['steps']} | "
                     f"{r['us_per_atom_step']:.2f} | {ratio} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def driver_table(rows: list[dict]) -> str:
    lammps = {(r["potential"], r["n_atoms"]): r["us_per_atom_step"] for r in rows if r["code"] == "lammps"}
    lines = ["| potential | atoms | steps | code | skin Å | list rebuilds | µs/atom-step | ×LAMMPS |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        ffdiff = r["code"] != "lammps"
        ratio = f"{r['us_per_atom_step'] / lammps[(r['potential'], r['n_atoms'])]:.1f}" if ffdiff else ""
        skin, rebuilds = (f"{r['skin']:.2f}", str(r["n_rebuilds"])) if ffdiff else ("0.50", "")
        lines.append(f"| {r['potential']} | {r['n_atoms']} | {r['steps']} | {r['code']} | {skin} | {rebuilds} | "
                     f"{r['us_per_atom_step']:.2f} | {ratio} |")
    return "\n".join(lines)


def grad_table(rows: list[dict]) -> str:
    lines = ["| steps | mode | run s | ×forward | compile s | XLA temp MB | peak RSS MB | run ΔRSS MB | list ok |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    forward = {r["steps"]: r["run_s"] for r in rows if r["mode"] == "forward" and "run_s" in r}
    for r in rows:
        if r.get("skipped"):
            lines.append(f"| {r['steps']} | {r['mode']} | skipped: XLA temp estimated {r['estimate_gb']:.1f} GB "
                         "| | | | | | |")
            continue
        if "failed" in r:
            lines.append(f"| {r['steps']} | {r['mode']} | failed: {' '.join(r['failed'])} | | | | | | |")
            continue
        ratio = f"{r['run_s'] / forward[r['steps']]:.2f}" if r["steps"] in forward else ""
        lines.append(f"| {r['steps']} | {r['mode']} | {r['run_s']:.3f} | {ratio} | {r['compile_s']:.2f} | "
                     f"{r['temp_mb']:.1f} | {r['peak_rss_mb']:.0f} | {r['run_rss_growth_mb']:.0f} | "
                     f"{r['list_valid']} |")
    steps = sorted({r["steps"] for r in rows})
    if len(steps) >= 2:
        lo, hi = steps[0], steps[-1]
        lines.append("")
        for mode in ("forward", "remat", "no_remat"):
            a = next((r for r in rows if r["steps"] == lo and r["mode"] == mode and "temp_mb" in r), None)
            b = next((r for r in rows if r["steps"] == hi and r["mode"] == mode and "temp_mb" in r), None)
            if a and b:
                lines.append(f"- memory({hi})/memory({lo}), {mode}: XLA temp {b['temp_mb'] / a['temp_mb']:.2f}, "
                             f"peak RSS {b['peak_rss_mb'] / a['peak_rss_mb']:.2f}, run ΔRSS "
                             f"{b['run_rss_growth_mb']:.0f} MB vs {a['run_rss_growth_mb']:.0f} MB")
    return "\n".join(lines)


def fits_table(rows: list[dict]) -> str:
    lines = ["| potential | objective | evaluations | first evaluation s: cold / rerun / changed | "
             "job s: cold / rerun / changed | peak RSS MB |", "|---|---|---:|---|---|---:|"]
    for r in rows:
        runs = [r[k] for k in ("cold", "rerun", "changed")]
        first = " / ".join(f"{x['first_evaluation_s']:.1f}" for x in runs)
        total = " / ".join(f"{x['total_s']:.1f}" for x in runs)
        lines.append(f"| {r['potential']} | {r['objective']} | {r['cold']['n_fev']} | {first} | {total} | "
                     f"{max(x['peak_rss_mb'] for x in runs):.0f} |")
    return "\n".join(lines)


def vmap_table(rows: list[dict]) -> str:
    lines = ["| potential | objective | 4 calls ms | one vmap of 4 ms | ratio |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['potential']} | {r['objective']} | {r['calls_ms']:.1f} | {r['vmap_ms']:.1f} | "
              f"{r['vmap_ms'] / r['calls_ms']:.2f} |" for r in rows]
    return "\n".join(lines)


def stages_table(doc: dict) -> str:
    lines = ["| stage | jobs | job time (s, summed) | largest peak memory (MB) |", "|---|---:|---:|---:|"]
    lines += [f"| {r['stage']} | {r['jobs']} | {r['job_seconds']:.1f} | {r['max_memory_mb']:.0f} |" for r in doc["stages"]]
    if doc.get("run"):
        run = doc["run"]
        lines.append(f"\nEnd to end: {run['seconds'] / 60:.1f} min for {run['steps']} jobs ({run['log']}).")
    return "\n".join(lines)


def smoke_table(doc: dict) -> str:
    lines = [f"| run | jobs | elapsed (--cores {doc['cores']}) | job time s (summed) | XLA compiling s (programs) |",
             "|---|---:|---:|---:|---:|"]
    for name, run in doc["runs"].items():
        seconds = run["run"]["seconds"]
        lines.append(f"| {name} | {run['run']['steps']} | {int(seconds // 60)}:{seconds % 60:04.1f} | "
                     f"{sum(s['job_seconds'] for s in run['stages']):.0f} | {run['compile_s']:.0f} "
                     f"({run['compilations']}) |")
    return "\n".join(lines)


def gnn_step_table(rows: list[dict], baseline: str = "mpgnn_before") -> str:
    """Training-step cost per model, dtype and size (``benchmarks/gnn.py``), relative to the MPGNN of the
    same dtype and size (×MPGNN) and as a speed-up over ``baseline`` in float64 at the same size."""
    mpgnn = {(r["dtype"], r["n_atoms"]): r["us_per_atom_frame"] for r in rows if r["model"] == "mpgnn"}
    base = {r["n_atoms"]: r["us_per_atom_frame"] for r in rows if r["model"] == baseline and r["dtype"] == "float64"}
    lines = ["| model | dtype | atoms | batch | weights | edges/atom | µs/atom/frame | median | ×MPGNN | "
             f"speed-up over {baseline} float64 | step s | compile s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ref, before = mpgnn.get((r["dtype"], r["n_atoms"])), base.get(r["n_atoms"])
        ratio = f"{r['us_per_atom_frame'] / ref:.2f}" if ref else ""
        speedup = f"{before / r['us_per_atom_frame']:.2f}" if before else ""
        lines.append(f"| {r['model']} | {r['dtype']} | {r['n_atoms']} | {r['batch']} | {r['weights']} | "
                     f"{r['edges_per_atom']:.1f} | {r['us_per_atom_frame']:.1f} | {r['us_per_atom_frame_median']:.1f} | "
                     f"{ratio} | {speedup} | {r['step_s']:.3f} | {r['compile_s']:.1f} |")
    return "\n".join(lines)


def gnn_budget_table(rows: list[dict]) -> str:
    """Test errors of each model after the same training budget (``benchmarks/gnn.py``)."""
    lines = ["| model | budget | steps | epochs | train s | test E RMSE meV/atom | test F RMSE eV/Å | "
             "train F RMSE eV/Å | test F RMSE at start | test force RMS eV/Å |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['budget']} | {r['steps']} | {r['epochs']:.1f} | {r['train_s']:.0f} | "
                     f"{r['test']['energy_rmse_mev_atom']:.1f} | {r['test']['force_rmse']:.3f} | "
                     f"{r['train']['force_rmse']:.3f} | {r['test_start']['force_rmse']:.3f} | "
                     f"{r['test_force_rms']:.3f} |")
    return "\n".join(lines)


def gnn_md_table(rows: list[dict]) -> str:
    """A GNN's ``run_md`` step against one energy+forces evaluation on an exact-cutoff list
    (``benchmarks/gnn_md.py``)."""
    lines = ["| model | dtype | atoms | steps | MD µs/atom-step | median | evaluation µs/atom | MD / evaluation | "
             "pairs/atom in r_c | short slots/atom | list rebuilds | first call s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        steps = str(r["steps"]) if r["stable"] else f"{r['steps_done']} of {r['steps']} (failed)"
        pairs = " → ".join(f"{p:.1f}" for p in r["pairs_per_atom"])
        lines.append(f"| {r['model']} | {r.get('dtype', 'float64')} | {r['n_atoms']} | {steps} | {r['md_us_per_atom_step']:.1f} | "
                     f"{r['md_us_per_atom_step_median']:.1f} | {r['eval_us_per_atom']:.1f} | {r['ratio']:.2f} | "
                     f"{pairs} | {r['short_slots_per_atom']:.1f} | {r['n_rebuilds']} | {r['first_call_s']:.1f} |")
    return "\n".join(lines)


def gnn_ablation_table(rows: list[dict]) -> str:
    """The GNN chain per variant (``benchmarks/gnn_ablation.py``): angular terms and seed against the
    pretrained model's own-split and FT-GNN's 2000 K test errors, and why each stage stopped."""
    lines = ["| angular | seed | pretrained F RMSE eV/Å (own test) | pretrained E RMSE meV/atom | "
             "FT-GNN F RMSE eV/Å (2000 K test) | FT-GNN E RMSE meV/atom | pretraining | fine-tuning |",
             "|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        stages = [f"{t['epochs']} epochs, {t['stop_reason']}" for t in (r["pretrained_training"], r["ft_training"])]
        lines.append(f"| {r['angular']} | {r['seed']} | {r['pretrained_own_test']['force_rmse']:.3f} | "
                     f"{r['pretrained_own_test']['energy_rmse_mev_atom']:.1f} | {r['ft_test']['force_rmse']:.3f} | "
                     f"{r['ft_test']['energy_rmse_mev_atom']:.1f} | {stages[0]} | {stages[1]} |")
    return "\n".join(lines)


def pareto_table(rows: list[dict]) -> str:
    """Evaluations (both losses at one parameter vector, a gradient counted as no extra evaluation) and
    seconds to 99 % of the gradient front's hypervolume; NSGA-II as min–max over its seeds."""
    lines = ["| potential | method | evaluations to target | s to target | final hypervolume | runs reaching target |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        for m in r["methods"]:
            evals, secs = m["n_eval"], m["seconds"]
            lines.append(f"| {r['potential']} | {m['method']} | {_span(evals, '{:.0f}')} | {_span(secs, '{:.2f}')} | "
                         f"{min(m['hypervolume']):.4f}–{max(m['hypervolume']):.4f} | {len(evals)}/{m['runs']} |")
    return "\n".join(lines)


def _span(values: list, fmt: str) -> str:
    """min–max of ``values`` (one number if they agree), or "not reached" if there are none."""
    if not values:
        return "not reached"
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return low if low == high else f"{low}–{high}"
