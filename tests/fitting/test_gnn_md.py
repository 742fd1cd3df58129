"""The GNN chain's MD test (``md_test``): its phase check, as the workflow's JSON and Table 6 carry it."""

import json

import numpy as np
import pandas as pd

from conftest import diamond, rattled
from ffdiff.fitting.gnn import RDFSettings, md_test
from ffdiff.potentials.mpgnn import MPGNNConfig, potential
from ffdiff.report import GNN_COLUMNS, gnn_table
from ffdiff.results import read_md_tests
from ffdiff.workflow import write_json

SMALL = MPGNNConfig(n_basis=4, features=8, n_steps=2, hidden=16)
RDF = RDFSettings(r_min=1.5, r_max=4.8, n_points=34, sigma=0.15)


def test_md_test_records_the_phase_check(tmp_path):
    """A small MPGNN (random weights) from diamond at 300 K for 40 fs: stable, its atoms only vibrate
    (crystal); a run that fails at its first frame has no phase, MSD or drift. Both go through the
    workflow's JSON into Table 6's ``phase``, ``msd_A2`` and ``temperature_drift_K`` columns."""
    model = potential(SMALL)
    params = model.params()
    atoms = rattled(diamond(repeat=2), 0.1, seed=2)
    common = dict(ensemble="nve", n_steps=40, record_every=4, progress=False)
    ok = md_test(model, params, atoms.positions, atoms.cell.array, np.ones(RDF.n_points), RDF, temperature_K=300.0,
                 **common)
    assert ok["stable"] and ok["phase"] == "crystal" and 0 < ok["msd_A2"] < 0.2
    assert np.isfinite(ok["temperature_drift_K"])
    failed = md_test(model, params, atoms.positions, atoms.cell.array, np.ones(RDF.n_points), RDF,
                     temperature_K=300.0, min_distance=3.0, **common)  # diamond's bonds are 2.35 Å
    assert failed["failed_step"] == 0
    assert failed["phase"] is None and failed["msd_A2"] is None and failed["temperature_drift_K"] is None

    paths = [tmp_path / "m" / "md_300K.json", tmp_path / "m" / "md_broken.json"]
    write_json(paths[0], ok)
    write_json(paths[1], failed)
    assert json.loads(paths[0].read_text())["phase"] == "crystal"
    errors = {"m": {split: {"force_rmse": 0.1} for split in ("train", "test")}}
    table = gnn_table(errors, read_md_tests(paths), models=["m"], conditions=["300K", "broken"])
    assert list(table.columns) == GNN_COLUMNS and GNN_COLUMNS[-3:] == ["phase", "msd_A2", "temperature_drift_K"]
    row, broken = table.iloc[2], table.iloc[3]
    assert row.phase == "crystal" and row.msd_A2 == ok["msd_A2"]
    assert row.temperature_drift_K == ok["temperature_drift_K"]
    assert pd.isna(broken.phase) and pd.isna(broken.msd_A2) and pd.isna(broken.temperature_drift_K)
