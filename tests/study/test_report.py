"""Tables built from rule outputs."""

from ffdiff.study.report import check_table, fit_summary, fit_table, to_markdown

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
