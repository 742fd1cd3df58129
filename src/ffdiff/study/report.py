"""Tables the study publishes (CSV for machines, Markdown for the results page), built from rule outputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ffdiff.fitting.records import best_run


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


# Summary columns of the property rows' keys: C (GPa, standard convention), highest frequency (THz).
SUMMARY_PROPERTIES = {"C11": "C11 (GPa)", "C12": "C12 (GPa)", "C44": "C44 (GPa)", "nu_max_Gamma": "ν Γ optical (THz)",
                      "nu_max_X": "ν X max (THz)", "nu_max_L": "ν L max (THz)"}


def fit_summary(fits_docs: list[dict], uncertainties: list[dict] | None = None) -> pd.DataFrame:
    """Best fit per (potential, objective) beside the original parameters and DFT (C44 standard).

    Args:
        fits_docs: :func:`ffdiff.fitting.potential_fit.fit_potential` results.
        uncertainties: :func:`ffdiff.fitting.uncertainty.fit_uncertainty` results, one per fits doc
            (any order); with them a fitted row's parameters and properties read "value ± std"
            (:func:`plus_minus`), the originals and DFT stay numbers.
    """
    errors = {(u["potential"], u["objective"]): u for u in uncertainties or []}
    missing = [(d["potential"], d["objective"]) for d in fits_docs if uncertainties is not None
               and (d["potential"], d["objective"]) not in errors]
    if missing:
        raise ValueError(f"no uncertainty for the fits {missing}; got {sorted(errors)}")
    rows, seen = [], set()
    for doc in fits_docs:
        name = doc["potential"]
        if name not in seen:
            seen.add(name)
            rows.append(_summary_row(name, "original", doc["original"]["params"], doc["fitted"],
                                     doc["original"]["properties"]))
        rows.append(_summary_row(name, doc["objective"], doc["best"]["params"], doc["fitted"],
                                 best_run(doc)["properties"], errors.get((name, doc["objective"]))))
    if fits_docs:
        rows.append(_summary_row("DFT", "reference", {}, [], fits_docs[0]["reference"]))
    return pd.DataFrame(rows)


def _summary_row(potential, fit, params, fitted, props, error: dict | None = None) -> dict:
    """One summary row; with ``error`` (a fit_uncertainty result) its entries as "value ± std" text."""
    def shown(kind, name, value):
        return value if error is None else plus_minus(value, error[kind][name]["std"])

    parameters = ", ".join(f"{n} = {params[n]:.5f}" if error is None else f"{n} = {shown('parameters', n, params[n])}"
                           for n in fitted)
    return {"potential": potential, "fit": fit, "parameters": parameters,
            **{column: shown("properties", key, props[key]) if key in props else None
               for key, column in SUMMARY_PROPERTIES.items()}}


def plus_minus(value: float, std: float) -> str:
    """``"value ± std"``, std to 2 significant digits and value rounded to the same decimal place
    (1.914763, 0.01234 -> "1.915 ± 0.012"; 157.117, 23.4 -> "157 ± 23"; 1234.5, 123 -> "1230 ± 120");
    a std that is 0 or not finite is shown as such beside the value to 6 significant digits."""
    if not (math.isfinite(std) and std > 0):
        return f"{value:.6g} ± {std:.2g}"
    place = 1 - math.floor(math.log10(std))  # decimals of the std's second significant digit
    if round(std, place) >= 10.0 ** (2 - place):  # rounding gained a digit (0.0996 -> 0.100)
        place -= 1
    step = 10.0 ** -place
    value, std = round(value / step) * step + 0.0, round(std / step) * step  # + 0.0: no "-0.00"
    return f"{value:.{max(place, 0)}f} ± {std:.{max(place, 0)}f}"


GNN_COLUMNS = ["model", "condition", "energy_rmse_mev_atom", "energy_mae_mev_atom", "force_rmse", "force_mae"]


def gnn_table(errors: dict[str, dict], *, models) -> pd.DataFrame:
    """Table 6's energy/force part: per model, errors on the ``train`` and ``test`` splits (and on
    ``snapshots_test``, the pretraining snapshots' test split, where ``errors`` has it)."""
    rows = [{"model": model, "condition": split, **errors[model][split]}
            for model in models for split in ("train", "test", "snapshots_test") if split in errors[model]]
    return pd.DataFrame(rows).reindex(columns=GNN_COLUMNS)


STABILITY_COLUMNS = ["model", "condition", "rdf_weight", "n_runs", "n_stable", "survival_low", "survival_high",
                     "median_failed_step", "rdf_mse_mean", "rdf_mse_low", "rdf_mse_high", "rdf_mse_noise_floor",
                     "phase", "temperature_drift_K"]


def _arm_group(model: str) -> str:
    """The table's model family: ``ft_rdf_30`` -> ``ft_rdf`` (its weight is in ``rdf_weight``)."""
    return "ft_rdf" if model.startswith("ft_rdf_") else model


def stability_table(tests: dict[tuple[str, str], dict], *, tested, conditions, weights: dict[str, float]) -> pd.DataFrame:
    """One row per tested model and condition from the replicated MD tests' summaries
    (:func:`ffdiff.statistics.summarise`); ``model`` is teacher, pretrained, ft or ft_rdf (one row per
    RDF weight, ``weights``: arm -> weight; ft's is 0, the others' empty); ``rdf_mse_noise_floor`` is
    the teacher's mean RDF MSE at that condition, the error of a perfect model through this harness."""
    rows = []
    for condition in conditions:
        floor = tests["teacher", condition]["summary"]["rdf_mse_mean"] if ("teacher", condition) in tests else None
        for model in tested:
            summary = tests[model, condition]["summary"]
            rows.append({**summary, "model": _arm_group(model), "condition": condition,
                         "rdf_weight": weights.get(model), "rdf_mse_noise_floor": floor})
    table = pd.DataFrame(rows).reindex(columns=STABILITY_COLUMNS)
    return table.astype({"n_runs": int, "n_stable": int})


COMPARISON_COLUMNS = ["condition", "arm", "rdf_weight", "survival_ft", "survival_arm", "p_survival",
                      "p_survival_holm", "stability", "rdf_mse_ft", "rdf_mse_arm", "p_rdf", "p_rdf_holm", "rdf"]


def comparison_table(tests: dict[tuple[str, str], dict], *, arms, conditions, weights: dict[str, float],
                     control: str = "ft") -> pd.DataFrame:
    """Every RDF arm against ``control`` at every condition (:func:`ffdiff.statistics.compare`), the
    p-values Holm-corrected across the whole table (both measures), and a verdict per measure at
    1 - :data:`~ffdiff.statistics.CONFIDENCE`: "more stable"/"less stable", "closer RDF"/"further RDF",
    or "no difference detected"."""
    from ffdiff.statistics import compare, holm, verdict

    rows = []
    for condition in conditions:
        control_runs = tests[control, condition]["runs"]
        for arm in arms:
            if arm == control:
                continue
            runs = tests[arm, condition]["runs"]
            result = compare(runs, control_runs)
            rows.append({"condition": condition, "arm": arm, "rdf_weight": weights.get(arm),
                         "survival_ft": tests[control, condition]["summary"]["n_stable"] / len(control_runs),
                         "survival_arm": tests[arm, condition]["summary"]["n_stable"] / len(runs),
                         "rdf_mse_ft": tests[control, condition]["summary"]["rdf_mse_mean"],
                         "rdf_mse_arm": tests[arm, condition]["summary"]["rdf_mse_mean"], **result})
    table = pd.DataFrame(rows)
    if table.empty:
        return table.reindex(columns=COMPARISON_COLUMNS)
    p = np.concatenate([table["p_survival"], table["p_rdf"]])
    tested = np.isfinite(p)
    adjusted = np.full(p.shape, np.nan)
    adjusted[tested] = holm(p[tested])
    table["p_survival_holm"], table["p_rdf_holm"] = adjusted[:len(table)], adjusted[len(table):]
    table["stability"] = [verdict(d, q, "more stable", "less stable")
                          for d, q in zip(table["survival_difference"], table["p_survival_holm"], strict=True)]
    table["rdf"] = [verdict(-d, q, "closer RDF", "further RDF")
                    for d, q in zip(table["rdf_mse_difference"], table["p_rdf_holm"], strict=True)]
    return table.reindex(columns=COMPARISON_COLUMNS)


def rdf_scales(tests: dict[tuple[str, str], dict], *, reference: str, conditions) -> dict[str, float]:
    """RDF MSE between the reference g(r) of ``reference`` and of every other condition on the same
    grid: the size of a real structural difference, to read the noise floor against."""
    base = np.asarray(next(t for (m, c), t in tests.items() if c == reference)["g_ref"], dtype=float)
    out = {}
    for condition in conditions:
        if condition != reference:
            g = np.asarray(next(t for (m, c), t in tests.items() if c == condition)["g_ref"], dtype=float)
            if g.shape == base.shape:
                out[condition] = float(np.mean((g - base) ** 2))
    return out


TRAINING_COLUMNS = ["model", "epochs", "steps", "best_epoch", "best_validation_loss", "converged", "stop_reason",
                    "final_learning_rate", "rdf_weight", "rdf_share_start", "rdf_share_last_epoch",
                    "rdf_mse_validation_start", "rdf_mse_validation_best"]


def training_table(runs: dict[str, dict]) -> pd.DataFrame:
    """One row per training stage (model -> its history JSON): epochs and optimiser steps taken, the
    best epoch and its validation loss, and why training stopped (``converged`` is False when the
    epoch limit stopped a run that was still improving); for the fine-tuning arms the RDF weight, the
    RDF term's share of the loss at the start and over the last epoch, and the RDF MSE of the fixed
    validation runs at the start and for the kept parameters."""
    rows = []
    for model, run in runs.items():
        diagnostics = run.get("diagnostics", {})
        rows.append({"model": model, **{k: run["summary"][k] for k in TRAINING_COLUMNS[1:7]},
                     "final_learning_rate": run["history"][-1].get("learning_rate"),
                     "rdf_weight": diagnostics.get("rdf_weight"), "rdf_share_start": diagnostics.get("rdf_share_start"),
                     "rdf_share_last_epoch": run["history"][-1].get("global_share",
                                                                    0.0 if "rdf_weight" in diagnostics else None),
                     "rdf_mse_validation_start": diagnostics.get("rdf_mse_start"),
                     "rdf_mse_validation_best": diagnostics.get("rdf_mse_best")})
    return pd.DataFrame(rows).reindex(columns=TRAINING_COLUMNS)


def _scientific(table: pd.DataFrame, columns) -> pd.DataFrame:
    """``table`` with ``columns`` as text in 3-digit scientific notation (RDF errors span decades)."""
    out = table.copy()
    for column in columns:
        out[column] = [("" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2e}")
                       for v in out[column]]
    return out


def stability_page(table: pd.DataFrame, comparison: pd.DataFrame, scales: dict[str, float], *, reference: str,
                   label: str) -> str:
    """The replicated MD tests as Markdown: the scale of a real structural difference, the stability
    table, the arm comparison, and one verdict line per condition."""
    from ffdiff.statistics import CONFIDENCE

    mse = ["rdf_mse_mean", "rdf_mse_low", "rdf_mse_high", "rdf_mse_noise_floor"]
    lines = [f"Reference: {label}. Intervals: {CONFIDENCE:.0%} (survival: exact binomial; RDF MSE: Student t over "
             f"the runs). Scale of a real structural difference, the RDF MSE between the reference g(r) at "
             f"{reference} and at: " + ", ".join(f"{c} {v:.2e}" for c, v in scales.items()) + ".", "",
             to_markdown(_scientific(table, mse), digits=3), "",
             f"Each RDF arm against ft (Fisher's exact test for survival, Welch's t-test for the RDF MSE, "
             f"Holm-corrected across the table; verdicts at the {1 - CONFIDENCE:.0%} level):", "",
             to_markdown(_scientific(comparison, ["rdf_mse_ft", "rdf_mse_arm"]), digits=3), ""]
    for condition, rows in comparison.groupby("condition", sort=False):
        verdicts = "; ".join(f"{r.arm} (weight {r.rdf_weight:.3g}): survival {r.stability}, RDF {r.rdf}"
                             for r in rows.itertuples())
        lines.append(f"- {condition}: {verdicts}.")
    return "\n".join(lines) + "\n"


_PARETO_NUMBERS = ("w_elastic", "w_fc", "w_crystal", "elastic_loss", "fc_loss", "crystal_loss")


def pareto_table(fronts: list[dict]) -> pd.DataFrame:
    """One row per point of each :func:`ffdiff.fitting.pareto.pareto_potential` front: potential, raw
    weights, both losses (and the scalar targets' weight and ``crystal_loss`` where the fronts have
    them), then every fitted parameter of any potential (empty where one lacks it). ``front`` says which:
    ``elastic-fc`` (the two-loss front) or ``elastic-fc-crystal`` (the three-loss surface)."""
    rows = [{"potential": doc["potential"], "front": front, **{k: p.get(k) for k in _PARETO_NUMBERS},
             "paper": p["paper"], "dominated": p["dominated"], "converged": p["converged"], **p["params"]}
            for doc in fronts
            for front, points in (("elastic-fc", doc["points"]),
                                  ("elastic-fc-crystal", doc.get("surface", {}).get("points", [])))
            for p in points]
    present = [k for k in _PARETO_NUMBERS if any(row[k] is not None for row in rows)]
    head = ["potential", "front", *present]
    names = list(dict.fromkeys(n for doc in fronts for n in doc["fitted"]))
    return pd.DataFrame(rows, columns=[*head, *names, "paper", "dominated", "converged"])


def uncertainty_table(docs: list[dict]) -> pd.DataFrame:
    """Columns potential, objective, quantity, value, std, kind (``parameter`` or ``property``): every
    fitted parameter and predicted property of :func:`ffdiff.fitting.uncertainty.fit_uncertainty` results."""
    rows = [{"potential": doc["potential"], "objective": doc["objective"], "quantity": name, **entry, "kind": kind}
            for doc in docs for kind, key in (("parameter", "parameters"), ("property", "properties"))
            for name, entry in doc[key].items()]
    return pd.DataFrame(rows, columns=["potential", "objective", "quantity", "value", "std", "kind"])


_VARIANT_HEAD = ["potential", "convention", "fc_geometry", "norm", "method"]
_VARIANT_TAIL = ["loss", "converged", "n_iter", "grad_norm", "C11", "C12", "C44", "C44_paper", "fc_lattice_constant",
                 "loss_at_table7"]


def variants_table(rows: list[dict]) -> pd.DataFrame:
    """:func:`ffdiff.fitting.variants.variant_rows` as a table: the variant and optimizer, every fitted
    parameter of any potential (empty where one lacks it), the fit and its properties, then each
    parameter's relative distance to Table 7, the largest, and the verdict."""
    known = {*_VARIANT_HEAD, *_VARIANT_TAIL, "table7_distance", "matches_table7"}
    names = list(dict.fromkeys(k for row in rows for k in row if k not in known and not k.startswith("d_")))
    return pd.DataFrame(rows, columns=[*_VARIANT_HEAD, *names, *_VARIANT_TAIL, *(f"d_{n}" for n in names),
                                       "table7_distance", "matches_table7"])
