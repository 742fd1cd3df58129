"""Tables the study publishes (CSV for machines, Markdown for the README), built from rule outputs."""

from __future__ import annotations

import math

import pandas as pd

from ffdiff.results import best_run


def check_table(checks: list[dict]) -> pd.DataFrame:
    """One row per potential from ``check.json`` documents (see :mod:`ffdiff.properties.summary`)."""
    rows = []
    for check in checks:
        s = check["structures"]
        cell, disp = s["unitcell"], s.get("displacement-001", {})
        rows.append({
            "potential": check["potential"],
            "a0 (Å)": cell["equilibrium_cell_lengths"][0],
            "DFT a (Å)": cell["reference_cell_lengths"][0],
            "E at DFT cell (eV/atom)": cell["energy_per_atom"],
            "pressure at DFT cell (GPa)": -sum(cell["stress_gpa"][:3]) / 3,
            "force RMSE vs DFT (eV/Å)": disp.get("dft", {}).get("force_rmse"),
            "F_x displaced atom (eV/Å)": (disp.get("displaced_atom_force") or [None])[0],
            "DFT F_x displaced atom (eV/Å)": (disp.get("dft", {}).get("displaced_atom_force") or [None])[0],
        })
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table with ``digits`` decimals."""

    def cell(value) -> str:
        if value is pd.NA:
            return ""
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def fit_table(fits_docs: list[dict]) -> pd.DataFrame:
    """Rows per (potential, convention, optimizer, start), plus each potential's ``original`` row.

    C44 is always in the standard convention; ``convention`` says which one the loss used.
    Frequency columns (THz, highest branch at Γ, X, L) appear for force-constant fits, with the
    DFT values alongside as ``*_dft``.
    """
    rows = []
    for doc in fits_docs:
        convention = "paper" if doc["objective"] == "elastic_paper" else "standard"
        base = {"potential": doc["potential"], "objective": doc["objective"], "convention": convention}
        dft = {f"{k}_dft": v for k, v in doc["reference"].items() if k.startswith("nu_")}
        orig = doc["original"]
        rows.append({**base, "optimizer": "original", "start": None,
                     **{n: orig["params"][n] for n in doc["fitted"]}, **orig["properties"],
                     "loss": orig["loss"], "n_iter": 0, "n_fev": 1, "converged": None, **dft})
        for run in doc["runs"]:
            rows.append({**base, "optimizer": run["method"], "start": run["start"],
                         **dict(zip(doc["fitted"], run["x"], strict=True)), **run["properties"],
                         "loss": run["loss"], "n_iter": run["n_iter"], "n_fev": run["n_fev"],
                         "converged": run["converged"], **dft})
    table = pd.DataFrame(rows)
    lead = ["potential", "convention", "optimizer", "start"]
    fitted = list(dict.fromkeys(n for doc in fits_docs for n in doc["fitted"]))
    return table[lead + fitted + [c for c in table.columns if c not in lead + fitted]]


def fit_summary(fits_docs: list[dict]) -> pd.DataFrame:
    """Best fit per (potential, objective) beside the original parameters and DFT (C44 standard)."""
    rows, seen = [], set()
    for doc in fits_docs:
        name = doc["potential"]
        if name not in seen:
            seen.add(name)
            rows.append(_summary_row(name, "original", doc["original"]["params"], doc["fitted"],
                                     doc["original"]["properties"]))
        rows.append(_summary_row(name, doc["objective"], doc["best"]["params"], doc["fitted"],
                                 best_run(doc)["properties"]))
    if fits_docs:
        rows.append(_summary_row("DFT", "reference", {}, [], fits_docs[0]["reference"]))
    return pd.DataFrame(rows)


def _summary_row(potential, fit, params, fitted, props) -> dict:
    return {
        "potential": potential, "fit": fit,
        "parameters": ", ".join(f"{n} = {params[n]:.5f}" for n in fitted),
        "C11 (GPa)": props["C11"], "C12 (GPa)": props["C12"], "C44 (GPa)": props["C44"],
        "ν Γ optical (THz)": props.get("nu_max_Gamma"),
    }


GNN_COLUMNS = ["model", "condition", "energy_rmse_mev_atom", "energy_mae_mev_atom", "force_rmse", "force_mae",
               "rdf_mse", "stable", "failed_step", "phase", "msd_A2", "temperature_drift_K"]


def gnn_table(errors: dict[str, dict], tests: dict[tuple[str, str], dict], *, models, conditions) -> pd.DataFrame:
    """Table 6: per model, energy/force errors on the ``train`` and ``test`` splits (and on
    ``snapshots_test``, the pretraining snapshots' test split, where ``errors`` has it), then one row per
    MD test condition with its RDF MSE, whether it stayed stable and the step it failed at (a failed
    run has no RDF MSE: its RDF would be meaningless), and its phase check (:func:`ffdiff.fitting.gnn.md_test`:
    the phase found, crystal or liquid, none for a failed run; MSD over the run in Å²; temperature drift in K)."""
    rows = []
    for model in models:
        for split in ("train", "test", "snapshots_test"):
            if split in errors[model]:
                rows.append({"model": model, "condition": split, **errors[model][split]})
        for condition in conditions:
            test = tests[model, condition]
            rows.append({"model": model, "condition": condition, "rdf_mse": test.get("rdf_mse"),
                         "stable": test["stable"], "failed_step": test["failed_step"], "phase": test.get("phase"),
                         "msd_A2": test.get("msd_A2"), "temperature_drift_K": test.get("temperature_drift_K")})
    table = pd.DataFrame(rows).reindex(columns=GNN_COLUMNS)
    return table.astype({"failed_step": "Int64", "stable": "boolean"})


TRAINING_COLUMNS = ["model", "epochs", "steps", "best_epoch", "best_validation_loss", "converged", "stop_reason",
                    "final_learning_rate"]


def training_table(runs: dict[str, dict]) -> pd.DataFrame:
    """One row per training stage (model -> its history JSON): epochs and optimiser steps taken, the
    best epoch and its validation loss, and why training stopped (``converged`` is False when the
    epoch limit stopped a run that was still improving)."""
    rows = [{"model": model, **{k: run["summary"][k] for k in TRAINING_COLUMNS[1:-1]},
             "final_learning_rate": run["history"][-1].get("learning_rate")} for model, run in runs.items()]
    return pd.DataFrame(rows).reindex(columns=TRAINING_COLUMNS)
