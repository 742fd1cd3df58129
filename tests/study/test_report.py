"""Tables built from rule outputs."""

import math

import pytest

from ffdiff.study.report import check_table, fit_summary, fit_table, plus_minus, to_markdown

CHECK = {"potential": "sw", "structures": {
    "unitcell": {"equilibrium_cell_lengths": [5.43] * 3, "reference_cell_lengths": [5.47] * 3,
                 "energy_per_atom": -4.3, "stress_gpa": [1.0, 1.0, 1.0, 0, 0, 0]},
    "displacement-001": {"displaced_atom_force": [-0.17, 0, 0],
                         "dft": {"force_rmse": 0.004, "displaced_atom_force": [-0.13, 0, 0]}}}}
PROPS = {"C11": 150.0, "C12": 70.0, "C44": 60.0, "elastic_loss": 20.0}
FITS = {"potential": "sw", "objective": "elastic_paper", "fitted": ["epsilon", "lam"],
        "original": {"params": {"epsilon": 2.0, "lam": 21.0}, "loss": 30.0, "properties": PROPS},
        "runs": [{"start": 0, "method": "BFGS", "x": [1.9, 33.0], "loss": 22.0, "n_iter": 8, "n_fev": 12,
                  "converged": True, "properties": PROPS}],
        "best": {"params": {"epsilon": 1.9, "lam": 33.0}, "method": "BFGS", "start": 0, "loss": 22.0},
        "reference": {"C11": 153.0, "C12": 57.0, "C44": 75.0}}


def test_check_table():
    table = check_table([CHECK])
    assert table["pressure at DFT cell (GPa)"].item() == -1.0
    assert to_markdown(table).splitlines()[2].startswith("| sw | 5.4300 | 5.4700 |")


def test_fit_tables():
    table = fit_table([FITS])
    assert list(table.columns[:6]) == ["potential", "convention", "optimizer", "start", "epsilon", "lam"]
    assert list(table.optimizer) == ["original", "BFGS"] and set(table.convention) == {"paper"}
    summary = fit_summary([FITS])
    assert list(summary.fit) == ["original", "elastic_paper", "reference"]
    assert summary.parameters[1] == "epsilon = 1.90000, lam = 33.00000"


ERRORS = {"potential": "sw", "objective": "elastic_paper",
          "parameters": {"epsilon": {"value": 1.9, "std": 0.01234}, "lam": {"value": 33.0, "std": 0.987}},
          "properties": {"C11": {"value": 150.0, "std": 2.345}, "C12": {"value": 70.0, "std": 0.0996},
                         "C44": {"value": 60.0, "std": 123.0}}}


@pytest.mark.parametrize(("value", "std", "text"), [
    (1.914763, 0.01234, "1.915 ± 0.012"),
    (157.117, 2.345, "157.1 ± 2.3"),
    (157.117, 23.4, "157 ± 23"),
    (1234.5, 123.0, "1230 ± 120"),
    (1.0, 0.0996, "1.00 ± 0.10"),  # the std's rounding gains a digit: one decimal fewer
    (1.5, 0.996, "1.5 ± 1.0"),
    (-0.0001, 0.01, "0.000 ± 0.010"),  # no "-0.000"
    (0.123456, 1.2e-7, "0.12345600 ± 0.00000012"),
    (33.78673, 0.0, "33.7867 ± 0"),
    (5.0, math.inf, "5 ± inf"),
])
def test_plus_minus_keeps_two_significant_digits_of_the_std(value, std, text):
    assert plus_minus(value, std) == text


def test_fit_summary_shows_the_fitted_rows_uncertainty():
    summary = fit_summary([FITS], [ERRORS])
    assert summary.parameters[1] == "epsilon = 1.900 ± 0.012, lam = 33.00 ± 0.99"
    assert summary.parameters[0] == "epsilon = 2.00000, lam = 21.00000"  # the original: no error
    lines = to_markdown(summary, digits=3).splitlines()
    assert lines[0] == ("| potential | fit | parameters | C11 (GPa) | C12 (GPa) | C44 (GPa) | ν Γ optical (THz) "
                        "| ν X max (THz) | ν L max (THz) |")
    assert lines[3].startswith("| sw | elastic_paper | epsilon = 1.900 ± 0.012, lam = 33.00 ± 0.99 | "
                               "150.0 ± 2.3 | 70.00 ± 0.10 | 60 ± 120 |")
    assert lines[2].startswith("| sw | original | epsilon = 2.00000, lam = 21.00000 | 150.000 | 70.000 | 60.000 |")
    assert lines[4] == "| DFT | reference |  | 153.000 | 57.000 | 75.000 |  |  |  |"
    with pytest.raises(ValueError, match=r"no uncertainty for the fits \[\('sw', 'elastic_paper'\)\]"):
        fit_summary([FITS], [])


def test_variants_table_and_figure(tmp_path):
    """Parameter columns of every potential between the variant and the fit, each potential's empty where
    it lacks one; the figure is written for a table with rows and for an empty one."""
    from ffdiff.study.plotting import multi_variants, save
    from ffdiff.study.report import variants_table

    common = {"convention": "paper", "fc_geometry": "own", "norm": "frobenius", "method": "BFGS", "loss": 98.7,
              "converged": True, "n_iter": 7, "grad_norm": 1e-7, "C11": 153.5, "C12": 50.3, "C44": 66.9,
              "C44_paper": 133.9, "fc_lattice_constant": 5.43, "loss_at_table7": 98.8}
    rows = [{"potential": "sw", **common, "epsilon": 1.811, "lam": 34.58, "d_epsilon": 9e-4, "d_lam": -1e-3,
             "table7_distance": 1e-3, "matches_table7": False},
            {"potential": "edip", **common, "A": 6.73, "lam": 1.3966, "d_A": 8.8e-4, "d_lam": 2e-5,
             "table7_distance": 8.8e-4, "matches_table7": False}]
    table = variants_table(rows)
    assert list(table.columns[4:8]) == ["method", "epsilon", "lam", "A"]
    assert list(table.columns[-5:]) == ["d_epsilon", "d_lam", "d_A", "table7_distance", "matches_table7"]
    assert table["A"].isna().tolist() == [True, False]
    for name, data in (("full", table), ("empty", variants_table([]))):
        save(multi_variants(data, 1e-4), [tmp_path / f"{name}.png"])
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
