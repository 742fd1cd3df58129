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


def phonons(curves: dict[str, dict], dos: dict[str, dict]):
    """Dispersion (left) and DOS (right) for several force-constant sets, keyed by label."""
    fig, (ax, ax_dos) = plt.subplots(1, 2, figsize=(7, 3.6), sharey=True,
                                     gridspec_kw={"width_ratios": [3, 1], "wspace": 0.05})
    for k, (label, band) in enumerate(curves.items()):
        for seg_d, seg_f in zip(band["distances"], band["frequencies"], strict=True):
            ax.plot(seg_d, seg_f, color=f"C{k}", lw=1)
        ax_dos.plot(dos[label]["total_dos"], dos[label]["frequency_points"], color=f"C{k}", lw=1, label=label)
    ticks = [seg[0] for seg in band["distances"]] + [band["distances"][-1][-1]]
    ax.set_xticks(ticks, band["labels"])
    ax.set_xlim(ticks[0], ticks[-1])
    for t in ticks:
        ax.axvline(t, color="0.8", lw=0.5)
    ax.set_ylabel("frequency (THz)")
    ax_dos.legend(frameon=False, fontsize=7, loc="lower right")
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


_MODEL_LABELS = {"pretrained": "PT-GNN", "ft": "FT-GNN", "ft_rdf": "FT-GNN (RDF)"}


def gnn_rdfs(tests: dict[tuple[str, str], dict], *, models, conditions, reference_label: str):
    """g(r) of every model beside the reference, one panel per condition; failed runs are named."""
    fig, axes = plt.subplots(1, len(conditions), figsize=(3.6 * len(conditions), 3.0), squeeze=False, sharey=True)
    for ax, condition in zip(axes[0], conditions, strict=True):
        first = tests[models[0], condition]
        ax.plot(first["r"], first["g_ref"], color="k", lw=2, label=reference_label)
        for k, model in enumerate(models):
            test = tests[model, condition]
            label = _MODEL_LABELS.get(model, model)
            if test["stable"]:
                ax.plot(test["r"], test["g"], color=f"C{k}", label=label)
            else:
                ax.plot([], [], color=f"C{k}", ls=":", label=f"{label}: failed at step {test['failed_step']}")
        ax.set(xlabel="r (Å)", title=condition.replace("_", ", ").replace("216", "216 atoms"))
        ax.legend(frameon=False, fontsize=7)
    axes[0][0].set_ylabel("g(r)")
    return fig


def gnn_losses(runs: dict[str, dict]):
    """Learning curves, one panel per training stage: training and validation loss per epoch, the
    learning rate, the best epoch, and why training stopped (``runs``: model -> history JSON)."""
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.4), squeeze=False)
    for ax, (model, run) in zip(axes[0], runs.items(), strict=True):
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
        title = _MODEL_LABELS.get(model, model)
        if summary.get("stop_reason"):
            title += f"\nstopped: {summary['stop_reason']} ({summary['steps']} steps)"
        ax.set(xlabel="epoch", ylabel="loss", yscale="log", title=title)
        ax.title.set_fontsize(8)
        top.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.85)
    fig.tight_layout()
    return fig
