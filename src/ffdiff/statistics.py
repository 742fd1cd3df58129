"""Statistics of replicated MD tests (:mod:`ffdiff.fitting.stability`), without JAX: table jobs import it.

:func:`summarise` reports a model's survival fraction with an exact (Clopper–Pearson) interval, the
median failed step, and the RDF error's mean with a Student-t interval; :func:`compare` tests one
arm against another (Fisher's exact test for survival, Welch's t-test for the RDF error), and
:func:`holm` corrects the p-values of all comparisons made for their number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

CONFIDENCE = 0.95
"""Level of every interval and 1 - the family-wise error rate of every verdict."""



def survival_interval(n_stable: int, n_runs: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a survival fraction.

    Examples:
        >>> [round(x, 3) for x in survival_interval(8, 8)]
        [0.631, 1.0]
    """
    from scipy.stats import binomtest

    ci = binomtest(n_stable, n_runs).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval of the mean (NaN bounds with fewer than two values).

    Examples:
        >>> [round(x, 3) for x in mean_interval([1.0, 2.0, 3.0])]
        [2.0, -0.484, 4.484]
    """
    from scipy.stats import t

    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(np.mean(x))
    if x.size < 2:
        return mean, np.nan, np.nan
    half = float(t.ppf(0.5 + confidence / 2, x.size - 1) * np.std(x, ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def summarise(runs: Sequence[Mapping]) -> dict:
    """One row of the stability table from the runs of one model at one condition.

    ``phase``: the one phase of every stable run, ``"mixed"`` if they differ, None if none is stable;
    ``temperature_drift_K``: the mean over the stable runs; ``median_failed_step``: over the failed
    runs (None if none failed); ``rdf_mse_*``: over every run with frames (a failed run's before its
    failure), the interval's lower end clipped at 0 (an MSE is not negative).
    """
    n_stable = sum(r["stable"] for r in runs)
    low, high = survival_interval(n_stable, len(runs))
    failed = [r["failed_step"] for r in runs if not r["stable"]]
    mean, mse_low, mse_high = mean_interval([r["rdf_mse"] for r in runs if r["rdf_mse"] is not None])
    phases = {r["phase"] for r in runs if r["stable"]}
    drifts = [r["temperature_drift_K"] for r in runs if r["stable"] and r["temperature_drift_K"] is not None]
    return {"n_runs": len(runs), "n_stable": n_stable, "survival_low": low, "survival_high": high,
            "median_failed_step": float(np.median(failed)) if failed else None,
            "rdf_mse_mean": mean, "rdf_mse_low": max(mse_low, 0.0) if np.isfinite(mse_low) else mse_low,
            "rdf_mse_high": mse_high,
            "phase": (phases.pop() if len(phases) == 1 else "mixed") if phases else None,
            "temperature_drift_K": float(np.mean(drifts)) if drifts else None}


def survival_curve(runs: Sequence[Mapping], n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, fraction of runs not failed by then): a step function from 0 to ``n_steps``."""
    failed = np.sort([r["failed_step"] for r in runs if not r["stable"]])
    steps = np.concatenate([[0], failed, [n_steps]])
    alive = len(runs) - np.concatenate([[0], np.arange(1, len(failed) + 1), [len(failed)]])
    return steps, alive / len(runs)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence).

    Examples:
        >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def compare(arm: Sequence[Mapping], control: Sequence[Mapping]) -> dict:
    """Raw p-values of ``arm`` against ``control`` at one condition: survival (Fisher's exact test,
    two-sided) and RDF error of the runs with frames (Welch's t-test, two-sided; NaN with fewer than
    two values on a side), with the differences ``survival_difference`` (arm − control fraction)
    and ``rdf_mse_difference`` (arm − control mean)."""
    from scipy.stats import fisher_exact, ttest_ind

    def table(runs):
        stable = sum(r["stable"] for r in runs)
        return [stable, len(runs) - stable]

    a, c = table(arm), table(control)
    p_survival = float(fisher_exact([a, c]).pvalue)
    x = [r["rdf_mse"] for r in arm if r["rdf_mse"] is not None]
    y = [r["rdf_mse"] for r in control if r["rdf_mse"] is not None]
    p_rdf = float(ttest_ind(x, y, equal_var=False).pvalue) if len(x) > 1 and len(y) > 1 else np.nan
    return {"survival_difference": a[0] / len(arm) - c[0] / len(control), "p_survival": p_survival,
            "rdf_mse_difference": (float(np.mean(x) - np.mean(y)) if x and y else np.nan), "p_rdf": p_rdf}


def verdict(difference: float, p_adjusted: float, better: str, worse: str, level: float = 1 - CONFIDENCE) -> str:
    """``better``/``worse`` when the adjusted p-value is below ``level`` (by the sign of
    ``difference``, positive = better), else "no difference detected" ("not tested" for NaN)."""
    if not np.isfinite(p_adjusted):
        return "not tested"
    if p_adjusted >= level:
        return "no difference detected"
    return better if difference > 0 else worse
