"""A positions-only trajectory (VASP XDATCAR, as the authors' AIMD runs are) where the workflow reads
an RDF target and a test reference."""

import json

import numpy as np
from run_workflow import copy_run, edited_config, snakemake


def test_an_xdatcar_is_the_rdf_target_and_a_test_reference(smoke_run, tmp_path):
    """The 3000 K condition's file is an XDATCAR written here from the smoke run's own 3000 K teacher
    frames, and it is the RDF target: the RDF arm trains on it (E/F still from the 2000 K train
    condition), and the replicated MD tests use it as their reference, with the reference g(r) of
    the teacher frames it was written from (XDATCAR keeps 8 decimals of fractional coordinates)."""
    from ase.io import write

    from ffdiff.runtime.checkpoint import read_metadata
    from ffdiff.data.dataset import Dataset

    work = copy_run(smoke_run, tmp_path / "work")
    teacher = Dataset.load(smoke_run / "resources/gnn/trajectory_3000K.npz")
    xdatcar = tmp_path / "aimd_3000K" / "XDATCAR"
    xdatcar.parent.mkdir()
    write(xdatcar, teacher.to_frames(), format="vasp-xdatcar")

    def use_xdatcar(config):
        config["gnn"]["trajectories"]["conditions"]["3000K"]["file"] = str(xdatcar)
        config["gnn"]["trajectories"]["rdf_target"] = "3000K"

    config = edited_config(tmp_path / "config.yaml", use_xdatcar)
    targets = ["results/gnn/ft_rdf_50/model.npz", "results/gnn/teacher/md_3000K.json"]
    snakemake(work, *targets, config=config)
    read = Dataset.load(work / "resources/gnn/trajectory_3000K.npz")
    assert not read.labelled and len(read) == len(teacher)
    assert json.loads((work / "resources/gnn/trajectory_3000K.json").read_text())["labelled"] is False
    history = json.loads((work / "results/gnn/ft_rdf_50/history.json").read_text())
    assert history["diagnostics"]["rdf_weight"] > 0 and "global_share" in history["history"][0]
    assert read_metadata(work / targets[0])["target"] == "resources/gnn/trajectory_3000K.npz"
    ours = json.loads((work / "results/gnn/teacher/md_3000K.json").read_text())
    theirs = json.loads((smoke_run / "results/gnn/teacher/md_3000K.json").read_text())
    np.testing.assert_allclose(ours["g_ref"], theirs["g_ref"], atol=1e-6)
    assert ours["summary"]["n_runs"] == 2 and ours["summary"]["n_stable"] == 2
