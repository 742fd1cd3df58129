"""The replicated MD tests (``ffdiff.fitting.stability``), their statistics (``ffdiff.statistics``) and
the stability and comparison tables the workflow writes from them."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import diamond, md_settings, rattled
from ffdiff.fitting.gnn import RDFSettings
from ffdiff.fitting.stability import md_runs
from ffdiff.potentials import get_potential
from ffdiff.potentials.mpgnn import MPGNNConfig, potential
from ffdiff.study.report import STABILITY_COLUMNS, comparison_table, stability_table
from ffdiff.study.results import read_md_tests
from ffdiff.statistics import compare, holm, mean_interval, summarise, survival_interval
from ffdiff.study.jobs import write_json

SMALL = MPGNNConfig(n_basis=4, features=8, n_steps=2, hidden=16)
RDF = RDFSettings(r_min=1.5, r_max=4.8, n_points=34, sigma=0.15)


def _frames(n=4):
    return np.stack([rattled(diamond(repeat=2), 0.1, seed=k).positions for k in range(n)])


def test_replicate_runs_are_independent_and_reproducible():
    """Three runs of a small MPGNN from diamond at 300 K: different start frames and velocity seeds,
    each recorded; all stable and crystal; a second call gives the same numbers bit for bit."""
    model = potential(SMALL)
    frames, box = _frames(), diamond(repeat=2).cell.array
    common = dict(md=md_settings(40, record_every=4), sigma=RDF.sigma, n_runs=3, seed=7, progress=False)
    runs = md_runs(model, model.params(), frames, box, np.ones(RDF.n_points), RDF.grid, **common)
    assert len({r["seed"] for r in runs}) == 3 and len({r["start_frame"] for r in runs}) == 3
    assert all(r["stable"] and r["phase"] == "crystal" and 0 < r["msd_A2"] < 0.2 for r in runs)
    assert len({r["rdf_mse"] for r in runs}) == 3  # three different trajectories
    again = md_runs(model, model.params(), frames, box, np.ones(RDF.n_points), RDF.grid, **common)
    assert [r["rdf_mse"] for r in again] == [r["rdf_mse"] for r in runs]
    assert all(np.array_equal(a["g"], b["g"]) for a, b in zip(again, runs, strict=True))


def test_failed_runs_are_counted_with_their_step_and_no_phase():
    """min_distance above diamond's bond (2.35 Å): every run fails at step 0, has no phase, and the
    summary gives survival 0 with its exact upper bound 1 - 0.025^(1/3)."""
    model = potential(SMALL)
    runs = md_runs(model, model.params(), _frames(), diamond(repeat=2).cell.array, np.ones(RDF.n_points), RDF.grid,
                   md_settings(20, record_every=4), sigma=RDF.sigma, n_runs=3, seed=0, min_distance=3.0,
                   progress=False)
    assert [r["failed_step"] for r in runs] == [0, 0, 0] and all(r["phase"] is None for r in runs)
    summary = summarise(runs)
    assert summary["n_stable"] == 0 and summary["median_failed_step"] == 0.0 and summary["phase"] is None
    assert summary["survival_low"] == 0.0
    assert summary["survival_high"] == pytest.approx(1 - 0.025 ** (1 / 3), rel=1e-9)


def test_float32_runs_give_the_float64_numbers_to_the_printed_digits():
    """The teacher (EDIP) from diamond at 1000 K, 300 steps: the float32 harness reports the float64
    one's RDF MSE to the 3 significant digits the tables print, and the same stability and phase."""
    teacher = get_potential("edip")
    frames, box = _frames(2), diamond(repeat=2).cell.array
    g_ref = np.ones(RDF.n_points)
    common = dict(md=md_settings(300, temperature_K=1000.0, record_every=10), sigma=RDF.sigma, n_runs=2, seed=1,
                  progress=False)
    single = md_runs(teacher, teacher.params(), frames, box, g_ref, RDF.grid, dtype="float32", **common)
    double = md_runs(teacher, teacher.params(), frames, box, g_ref, RDF.grid, dtype="float64", **common)
    for a, b in zip(single, double, strict=True):
        assert f"{a['rdf_mse']:.2e}" == f"{b['rdf_mse']:.2e}" and a["stable"] == b["stable"]
        assert a["phase"] == b["phase"] == "crystal"
        assert np.max(np.abs(np.asarray(a["g"]) - np.asarray(b["g"]))) < 1e-3 * np.max(b["g"])


def test_statistics_match_their_textbook_values():
    """Clopper–Pearson, Student t, Holm and Fisher against values computed by hand."""
    assert survival_interval(8, 8)[0] == pytest.approx(0.025 ** (1 / 8), rel=1e-9)  # (α/2)^(1/n)
    mean, low, high = mean_interval([1.0, 2.0, 3.0, 6.0])
    assert mean == 3.0 and high - mean == pytest.approx(3.182446305 * np.std([1, 2, 3, 6], ddof=1) / 2, rel=1e-8)
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    stable = [{"stable": True, "rdf_mse": 1e-3 + 1e-5 * k} for k in range(8)]
    failed = [{"stable": False, "rdf_mse": 5e-3 + 1e-4 * k} for k in range(8)]
    result = compare(stable, failed)
    assert result["survival_difference"] == 1.0
    assert result["p_survival"] == pytest.approx(2 / 12870, rel=1e-9)  # 2 / C(16, 8)
    assert result["p_rdf"] < 1e-6 and result["rdf_mse_difference"] < 0


def _test(model, n_stable, n_runs=8, mse=1e-3, condition="2000K"):
    runs = [{"stable": k < n_stable, "failed_step": None if k < n_stable else 100 * (k + 1), "g": None,
             "rdf_mse": mse * (1 + 0.01 * k), "phase": "liquid" if k < n_stable else None,
             "temperature_drift_K": 5.0 if k < n_stable else None} for k in range(n_runs)]
    return {"model": model, "condition": condition, "n_steps": 5000, "r": RDF.grid.tolist(),
            "g_ref": np.ones(RDF.n_points).tolist(), "runs": runs, "summary": summarise(runs)}


def test_stability_and_comparison_tables(tmp_path):
    """Through the workflow's JSON: the contract's columns, the teacher's RDF MSE as every row's noise
    floor, one ft_rdf row per weight, and verdicts only where the Holm-corrected test says so."""
    tests = {"teacher": _test("teacher", 8, mse=2e-4), "pretrained": _test("pretrained", 2),
             "ft": _test("ft", 0, mse=5e-3), "ft_rdf_10": _test("ft_rdf_10", 1, mse=5e-3),
             "ft_rdf_60": _test("ft_rdf_60", 8, mse=5e-4)}
    paths = []
    for model, test in tests.items():
        paths.append(tmp_path / model / "md_2000K.json")
        write_json(paths[-1], test)
    read = read_md_tests(paths)
    weights = {"ft": 0.0, "ft_rdf_10": 0.4, "ft_rdf_60": 5.0}
    table = stability_table(read, tested=list(tests), conditions=["2000K"], weights=weights)
    assert list(table.columns) == STABILITY_COLUMNS
    assert table.model.tolist() == ["teacher", "pretrained", "ft", "ft_rdf", "ft_rdf"]
    assert table.rdf_weight.tolist()[2:] == [0.0, 0.4, 5.0] and table.rdf_weight[:2].isna().all()
    assert (table.rdf_mse_noise_floor == table.rdf_mse_mean[0]).all()
    assert table.n_stable.tolist() == [8, 2, 0, 1, 8] and (table.survival_low <= table.survival_high).all()
    assert table.median_failed_step[4] != table.median_failed_step[4]  # no failure: empty
    comparison = comparison_table(read, arms=["ft", "ft_rdf_10", "ft_rdf_60"], conditions=["2000K"], weights=weights)
    verdicts = dict(zip(comparison.arm, zip(comparison.stability, comparison.rdf, strict=True), strict=True))
    assert verdicts["ft_rdf_10"] == ("no difference detected", "no difference detected")
    assert verdicts["ft_rdf_60"] == ("more stable", "closer RDF")
    assert (comparison.p_survival_holm >= comparison.p_survival).all()
    assert json.loads(paths[0].read_text())["summary"]["n_stable"] == 8
    assert isinstance(table, pd.DataFrame)
