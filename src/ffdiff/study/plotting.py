"""Figures of the study (matplotlib, no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_COLORS = {"BFGS": "C0", "CG": "C1", "Nelder-Mead": "C2"}


def save(fig, paths) -> None:
    """Save one figure under each path (PNG, PDF …) and close it. The files carry no creation date, so a
    rerun of the same data writes the same bytes."""
    for path in paths:
        metadata = {"CreationDate": None} if str(path).endswith(".pdf") else None
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata=metadata)
    plt.close(fig)


def loss_curves(fits: dict):
    """Loss against iteration, one line per optimizer and start."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for run in fits["runs"]:
        hist = run["history"]
        ax.plot([h["iteration"] for h in hist], [h["loss"] for h in hist], color=_COLORS.get(run["method"]),
                alpha=0.8, label=run["method"] if run["start"] == 0 else None, marker=".", ms=3)
    ax.set(xlabel="iteration", ylabel="loss", yscale="log",
           title=f"{fits['potential'].upper()}: {fits['objective'].replace('_', ' ')}")
    ax.legend(frameon=False)
    return fig


def landscape(grid: dict, fits: dict, starts=(0, 1)):
    """Loss contours over the two fitted parameters with optimizer paths from ``starts``."""
    names = fits["fitted"]
    fig, ax = plt.subplots(figsize=(4.5, 3.8))
    loss = np.asarray(grid["loss"], dtype=float)  # null (no finite loss there) reads as NaN: left blank
    mesh = ax.contourf(grid["axis0"], grid["axis1"], loss.T, levels=30, cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="loss")
    for run in fits["runs"]:
        if run["start"] in starts and run["method"] in ("BFGS", "CG"):
            path = np.array([[h[names[0]], h[names[1]]] for h in run["history"]])
            ax.plot(path[:, 0], path[:, 1], color=_COLORS[run["method"]], marker="o", ms=3, lw=1,
                    ls="-" if run["start"] == starts[0] else "--", label=f"{run['method']}, start {run['start']}")
    ax.set(xlabel=names[0], ylabel=names[1], title=f"{fits['potential'].upper()}: {fits['objective']}")
    ax.legend(frameon=False, fontsize=7)
    return fig


def phonons(curves: dict[str, dict], dos: dict[str, dict], band: dict | None = None, band_of: str = "fitted"):
    """Dispersion (left) and DOS (right) for several force-constant sets, keyed by label; ``band``
    ({"lower", "upper"} in the layout of a curve's frequencies, THz, with ``"samples"``) is shaded
    around the curve ``band_of`` and named in the legend as the Laplace posterior's 68 % band."""
    from matplotlib.patches import Patch

    fig, (ax, ax_dos) = plt.subplots(1, 2, figsize=(7, 3.6), sharey=True,
                                     gridspec_kw={"width_ratios": [3, 1], "wspace": 0.05})
    handles = []
    for k, (label, curve) in enumerate(curves.items()):
        for seg_d, seg_f in zip(curve["distances"], curve["frequencies"], strict=True):
            ax.plot(seg_d, seg_f, color=f"C{k}", lw=1)
        handles += ax_dos.plot(dos[label]["total_dos"], dos[label]["frequency_points"], color=f"C{k}", lw=1,
                               label=label)
        if band is not None and label == band_of:
            for seg_d, low, high in zip(curve["distances"], band["lower"], band["upper"], strict=True):
                for branch_low, branch_high in zip(np.transpose(low), np.transpose(high), strict=True):
                    ax.fill_between(seg_d, branch_low, branch_high, color=f"C{k}", alpha=0.35, lw=0)
            handles.append(Patch(color=f"C{k}", alpha=0.35,
                                 label=f"{label}: 68 % band, Laplace\nposterior ({band['samples']} samples)"))
    ticks = [seg[0] for seg in curve["distances"]] + [curve["distances"][-1][-1]]
    ax.set_xticks(ticks, curve["labels"])
    ax.set_xlim(ticks[0], ticks[-1])
    for t in ticks:
        ax.axvline(t, color="0.8", lw=0.5)
    ax.set_ylabel("frequency (THz)")
    ax_dos.legend(handles=handles, frameon=False, fontsize=7, loc="lower right")
    ax_dos.set_xlabel("DOS")
    return fig


def elastic_bars(rows: dict[str, dict]):
    """C11, C12, C44 (GPa) side by side for labelled parameter sets (e.g. original, fitted, DFT)."""
    keys = ["C11", "C12", "C44"]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    width = 0.8 / len(rows)
    for k, (label, row) in enumerate(rows.items()):
        ax.bar(np.arange(3) + k * width, [row[c] for c in keys], width, label=label)
    ax.set_xticks(np.arange(3) + 0.4 - width / 2, keys)
    ax.set_ylabel("GPa")
    ax.legend(frameon=False, fontsize=7)
    return fig


_MODEL_LABELS = {"teacher": "teacher (control)", "pretrained": "PT-GNN", "ft_start": "FT-GNN start", "ft": "FT-GNN"}


def _model_label(model: str) -> str:
    """Paper names; an RDF arm ``ft_rdf_30`` is FT-GNN (RDF) with a term of 30 % of the loss at the start."""
    if model.startswith("ft_rdf_"):
        return f"FT-GNN (RDF {model.removeprefix('ft_rdf_')} %)"
    return _MODEL_LABELS.get(model, model)


def _condition_title(condition: str) -> str:
    return condition.replace("_", ", ").replace("216", "216 atoms")


def _panels(conditions):
    fig, axes = plt.subplots(1, len(conditions), figsize=(3.6 * len(conditions), 3.0), squeeze=False, sharey=True)
    return fig, axes[0]


def gnn_rdfs(tests: dict[tuple[str, str], dict], *, models, conditions, reference_label: str):
    """Mean g(r) of every model's stable runs beside the reference, one panel per condition; the
    legend gives each model's stable runs out of its runs."""
    fig, axes = _panels(conditions)
    for ax, condition in zip(axes, conditions, strict=True):
        first = tests[models[0], condition]
        ax.plot(first["r"], first["g_ref"], color="k", lw=2, label=reference_label)
        for k, model in enumerate(models):
            runs = tests[model, condition]["runs"]
            stable = [r["g"] for r in runs if r["stable"] and r["g"] is not None]
            label = f"{_model_label(model)}: {len(stable)}/{len(runs)} stable"
            if stable:
                ax.plot(first["r"], np.mean(stable, axis=0), color=f"C{k}", lw=1, label=label)
            else:
                ax.plot([], [], color=f"C{k}", ls=":", label=label)
        ax.set(xlabel="r (Å)", title=_condition_title(condition))
        ax.legend(frameon=False, fontsize=6)
    axes[0].set_ylabel("g(r)")
    return fig


def gnn_survival(tests: dict[tuple[str, str], dict], *, models, conditions):
    """Survival curves: fraction of each model's runs not failed by each step, one panel per condition."""
    from ffdiff.statistics import survival_curve

    fig, axes = _panels(conditions)
    for ax, condition in zip(axes, conditions, strict=True):
        for k, model in enumerate(models):
            test = tests[model, condition]
            steps, alive = survival_curve(test["runs"], test["n_steps"])
            ax.step(steps, alive + 0.006 * (k - len(models) / 2), where="post", color=f"C{k}", lw=1,
                    label=_model_label(model))  # offset a little: equal curves stay visible
        ax.set(xlabel="MD step", title=_condition_title(condition), ylim=(-0.05, 1.08))
        ax.legend(frameon=False, fontsize=6, loc="lower left")
    axes[0].set_ylabel("fraction of runs stable")
    return fig


_SHORT_RANGE = 2.0  # Å: below diamond's and the liquid's first shell (2.35 Å), no pairs in the reference


def gnn_failed_rdfs(tests: dict[tuple[str, str], dict], *, models, conditions, reference_label: str):
    """g(r) of every failed run over its last recorded frames before the failure (``g_final``),
    against the reference, one column per condition; the bottom row enlarges r < 2 Å, where the
    reference has no pairs and a collapsing model puts some (the paper's Fig. 4), scaled so that one
    pair at 1.5 Å in one of the frames would show."""
    fig, axes = plt.subplots(2, len(conditions), figsize=(3.6 * len(conditions), 5.4), squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1]})
    for top, zoom, condition in zip(axes[0], axes[1], conditions, strict=True):
        first = tests[models[0], condition]
        for ax in (top, zoom):
            ax.plot(first["r"], first["g_ref"], color="k", lw=2, label=reference_label if ax is top else None)
        for k, model in enumerate(models):
            failed = [r for r in tests[model, condition]["runs"] if r.get("g_final") is not None]
            for n, run in enumerate(failed):
                for ax in (top, zoom):
                    ax.plot(first["r"], run["g_final"], color=f"C{k}", lw=0.7, alpha=0.7,
                            label=f"{_model_label(model)}: {len(failed)} failed" if n == 0 and ax is top else None)
        top.set(title=_condition_title(condition))
        top.legend(frameon=False, fontsize=6)
        r = np.asarray(first["r"])
        short = [np.max(np.asarray(run["g_final"])[r <= _SHORT_RANGE]) for model in models
                 for run in tests[model, condition]["runs"] if run.get("g_final") is not None]
        zoom.set(xlabel="r (Å)", xlim=(r[0], _SHORT_RANGE), ylim=(0.0, max([0.02, *short]) * 1.1))
    axes[0][0].set_ylabel("g(r), last frames before failure")
    axes[1][0].set_ylabel(f"g(r), r < {_SHORT_RANGE:g} Å")
    fig.tight_layout()
    return fig


def gnn_losses(runs: dict[str, dict]):
    """Learning curves, one panel per training stage: training and validation loss per epoch, the
    learning rate, the best epoch, why training stopped and, for an RDF arm, the RDF term's share of
    the loss (``runs``: model -> history JSON); three panels to a row."""
    columns = min(3, len(runs))
    rows = -(-len(runs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.8 * rows), squeeze=False)
    for ax in axes.ravel()[len(runs):]:
        ax.set_visible(False)
    for ax, (model, run) in zip(axes.ravel(), runs.items(), strict=False):
        history, summary = run["history"], run.get("summary", {})
        epochs = [h["epoch"] for h in history]
        # markers: a one-epoch stage is a single point, which a bare line would not draw
        ax.plot(epochs, [h["train_loss"] for h in history], "o-", ms=2, label="train")
        ax.plot(epochs, [h["validation_loss"] for h in history], "s--", ms=2, label="validation")
        if summary.get("best_epoch"):
            ax.axvline(summary["best_epoch"], color="0.6", lw=0.8, label=f"best (epoch {summary['best_epoch']})")
        top = ax  # the legend goes on the top axes, so no curve is drawn over it
        if all("learning_rate" in h for h in history):
            top = ax.twinx()
            top.plot(epochs, [h["learning_rate"] for h in history], color="C2", lw=0.8, label="learning rate")
            top.set(yscale="log")
            top.set_ylabel("learning rate", color="C2")
        handles = [h for axis in dict.fromkeys((ax, top)) for h in axis.get_legend_handles_labels()[0]]
        title = _model_label(model)
        if summary.get("stop_reason"):
            title += f"\nstopped: {summary['stop_reason']} ({summary['steps']} steps)"
        if "global_share" in history[0]:
            title += (f"\nRDF term {history[0]['global_share']:.0%} of the loss in epoch 1, "
                      f"{history[-1]['global_share']:.0%} in epoch {epochs[-1]}")
        ax.set(xlabel="epoch", ylabel="loss", yscale="log", title=title)
        ax.title.set_fontsize(8)
        top.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.85)
    fig.tight_layout()
    return fig


def pareto_front(front: dict):
    """Force-constant against elastic loss along the front (line with markers), the paper's (1, 1)
    point marked, and the NSGA-II front of ``front["nsga2"]`` if there is one."""
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    points = front["points"]
    ax.plot([p["elastic_loss"] for p in points], [p["fc_loss"] for p in points], "o-", ms=4, color="C0",
            label=f"gradient ({front['scalarization']}, {len(points)} points)")
    paper = points[front["paper"]]
    ax.plot(paper["elastic_loss"], paper["fc_loss"], "*", ms=13, color="C3", label="weights (1, 1)")
    if front.get("nsga2"):
        f = np.array(sorted(front["nsga2"]["front"]))
        ax.plot(f[:, 0], f[:, 1], "s", ms=3, mfc="none", color="C2",
                label=f"NSGA-II (seed {front['nsga2']['seed']}, {front['nsga2']['history'][-1]['n_eval']} evaluations)")
    if front.get("surface"):  # the three-loss surface, projected, coloured by the scalar targets' loss
        surface = front["surface"]["points"]
        shown = ax.scatter([p["elastic_loss"] for p in surface], [p["fc_loss"] for p in surface],
                           c=[p["crystal_loss"] for p in surface], s=14, marker="D", cmap="viridis", zorder=3,
                           label=f"with scalar targets ({len(surface)} points)")
        fig.colorbar(shown, ax=ax, label="scalar-target loss [σ]")
    ax.set(xlabel="elastic loss ‖C − C_DFT‖ [GPa]", ylabel="force-constant loss ‖Φ − Φ_DFT‖ [eV/Å²]",
           title=f"{front['potential'].upper()}: elastic against force-constant fit")
    ax.legend(frameon=False, fontsize=7)
    return fig


def multi_variants(table, rtol: float):
    """Each variant's fitted parameters relative to the paper's Table 7 (θ / θ_Table7 − 1, symlog), one
    panel per potential, one marker per parameter (the first optimizer's fit); the band is ±``rtol``."""
    potentials = list(dict.fromkeys(table["potential"])) or ["none"]
    fig, axes = plt.subplots(1, len(potentials), figsize=(4.2 * len(potentials), 3.6), squeeze=False, sharey=True)
    for ax, potential in zip(axes[0], potentials, strict=True):
        rows = table[table["potential"] == potential]
        rows = rows[rows["method"] == rows["method"].iloc[0]] if len(rows) else rows
        labels = [f"{r.convention}/{r.fc_geometry}/{r.norm}" for r in rows.itertuples()]
        x = np.arange(len(rows))
        for k, column in enumerate(c for c in table.columns if c.startswith("d_") and rows[c].notna().any()):
            ax.plot(x, rows[column], ls="none", marker="os^"[k % 3], color=f"C{k}", label=column.removeprefix("d_"))
        ax.axhspan(-rtol, rtol, color="0.85", zorder=0)
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xticks(x, labels, fontsize=7, rotation=45, ha="right")
        ax.set_yscale("symlog", linthresh=rtol)
        ax.set_title(potential.upper())
        if len(rows):
            ax.legend(frameon=False, fontsize=7)
        else:
            ax.text(0.5, 0.5, "no potential with a Table 7 entry", ha="center", transform=ax.transAxes)
    axes[0][0].set_ylabel("θ / θ(Table 7) − 1")
    return fig
