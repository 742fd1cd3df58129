"""State follows its inputs: after a complete smoke run, a changed input, a forced rerun or a foreign
library never hands back results computed for something else, and a GNN stage rerun from scratch gives
the same bits."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from run_workflow import ROOT, copy_run, edited_config, planned_jobs, snakemake

from ffdiff.study.jobs import CHECKPOINTS

SMOKE = ROOT / "config/smoke.yaml"


def arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def assert_same_arrays(a: Path, b: Path) -> None:
    left, right = arrays(a), arrays(b)
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype and np.array_equal(left[key], right[key]), (a, key)


def test_changed_teacher_labels_the_snapshots_with_the_new_teacher(smoke_run, tmp_path):
    """edip -> sw after a complete run: no frame of the finished EDIP runs comes back as SW data."""
    from ffdiff import Calculator
    from ffdiff.data.dataset import Dataset

    work = copy_run(smoke_run, tmp_path / "work")
    config = edited_config(tmp_path / "sw.yaml", lambda c: c["gnn"]["teacher"].update(potential="sw"))
    target = "resources/gnn/snapshots.npz"
    assert planned_jobs(work, config, target) == {"gnn_snapshots": 1}
    snakemake(work, target, config=config)
    frames = Dataset.load(work / target).to_frames()
    assert "resuming" not in (work / "logs/gnn_snapshots.log").read_text()
    sw = Calculator("sw")
    for frame in (frames[0], frames[-1]):
        assert abs(sw.get_potential_energy(frame.copy()) - frame.get_potential_energy()) < 1e-8
    assert not (work / CHECKPOINTS / "gnn_snapshots").exists()  # a finished job keeps no state


def test_forced_rerun_trains_and_a_new_model_shape_needs_no_cleanup(smoke_run, tmp_path):
    from ffdiff.runtime.checkpoint import read_metadata

    work = copy_run(smoke_run, tmp_path / "work")
    target = "results/gnn/pretrained/model.npz"
    snakemake(work, target, "--forcerun", "gnn_pretrain")
    log = (work / "logs/gnn_pretrain.log").read_text()
    assert "resuming" not in log and "epoch 3:" in log, log
    assert_same_arrays(work / target, smoke_run / target)  # trained afresh, to the same bits

    config = edited_config(tmp_path / "wider.yaml", lambda c: c["gnn"]["model"]["mpgnn"].update(features=12))
    snakemake(work, target, config=config)
    assert read_metadata(work / target)["mpgnn"]["features"] == 12
    assert not (work / CHECKPOINTS / "gnn_pretrain").exists()


def test_gnn_stages_rerun_from_scratch_are_bit_identical(smoke_run, tmp_path):
    """FT-GNN, FT-GNN (RDF) and replicated MD tests (of the last GNN and of the teacher) recomputed in a
    fresh directory from the same upstream files (same config, versions and threads) give the same
    bytes."""
    work = tmp_path / "work"
    shutil.copytree(smoke_run / "resources", work / "resources")  # mtimes kept: nothing upstream reruns
    shutil.copytree(smoke_run / "results/gnn/pretrained", work / "results/gnn/pretrained",
                    ignore=shutil.ignore_patterns("md_*", "errors.json"))
    targets = ["results/gnn/ft/model.npz", "results/gnn/ft_rdf_50/model.npz"]
    tests = ["results/gnn/ft_rdf_50/md_3000K.json", "results/gnn/teacher/md_3000K.json"]
    snakemake(work, *targets, *tests, "--rerun-triggers", "mtime")
    for target in targets:
        assert_same_arrays(work / target, smoke_run / target)
        history = Path(target).with_name("history.json")
        assert (work / history).read_bytes() == (smoke_run / history).read_bytes()
    for target in tests:
        assert (work / target).read_bytes() == (smoke_run / target).read_bytes(), target


def test_a_config_file_replaces_the_default_config_from_the_repository_root(tmp_path):
    """``--configfile`` from the checkout itself (where config/config.yaml is the Snakefile's default):
    the user's file is the whole configuration, so smoke.yaml's three trajectories are three, and a
    potential left out of a user's config is not fitted."""
    def plan(config: Path) -> str:
        cmd = [sys.executable, "-m", "snakemake", "-n", "--nolock", "--configfile", str(config), "--cores", "2"]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout

    smoke = plan(SMOKE)
    assert re.search(r"^gnn_trajectory\s+3$", smoke, flags=re.MULTILINE), smoke
    assert "trajectory_1000K" not in smoke
    only_sw = plan(edited_config(tmp_path / "sw_only.yaml", lambda c: c["potentials"].pop("edip")))
    assert "/edip/" not in only_sw and "/sw/" in only_sw, only_sw


def test_jobs_run_this_checkouts_library(smoke_run, tmp_path):
    """Another ffdiff first on the import path (an installed copy of another checkout) is not what a job
    runs: the workflow puts its own library first, and a job refuses a library whose source differs."""
    other = tmp_path / "other"
    (other / "ffdiff").mkdir(parents=True)
    (other / "ffdiff/__init__.py").write_text("raise ImportError('the ffdiff of another checkout')\n")
    work = copy_run(smoke_run, tmp_path / "work")
    target = "resources/reference/structures.traj"  # a job that imports ffdiff, in seconds
    env = os.environ | {"PYTHONPATH": str(other)}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work), "--configfile",
           str(SMOKE), "--cores", "2", target, "--forcerun", "reference_structures"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "1 of 1 steps (100%) done" in out, out


def test_a_library_other_than_the_recorded_one_is_refused():
    from types import SimpleNamespace

    from ffdiff.runtime.provenance import source_digest
    from ffdiff.study.jobs import check_library

    check_library(SimpleNamespace(code_version={"ffdiff_source": source_digest()}))
    check_library(SimpleNamespace())  # rules without code_version (tables, figures)
    with pytest.raises(RuntimeError, match="whose source differs from the one the workflow recorded when it started"):
        check_library(SimpleNamespace(code_version={"ffdiff_source": "0" * 64}))


class Job:
    """The parts of Snakemake's job object that :func:`ffdiff.study.jobs.job_checkpoints` reads."""

    def __init__(self, inputs, **params):
        from snakemake.iocontainers import InputFiles, Params, Wildcards

        self.rule, self.wildcards = "probe", Wildcards(fromdict={"condition": "2000K"})
        self.input, self.params = InputFiles(inputs), Params(fromdict=params)


def test_checkpoints_are_read_by_the_same_job_only(tmp_path, monkeypatch):
    from ffdiff.study.jobs import job_checkpoints

    monkeypatch.chdir(tmp_path)
    data = tmp_path / "frames.npz"
    data.write_bytes(b"one")
    with pytest.raises(KeyboardInterrupt), job_checkpoints(Job([str(data)], seed=0)) as first:
        (first / "state.npz").write_bytes(b"half way")
        raise KeyboardInterrupt  # killed: its state stays for the rerun
    with pytest.raises(RuntimeError), job_checkpoints(Job([str(data)], seed=0)) as again:
        assert again == first and (again / "state.npz").exists()
        raise RuntimeError
    seen = {first}
    for job in (lambda: Job([str(data)], seed=1), lambda: data.write_bytes(b"two") and Job([str(data)], seed=0)):
        with pytest.raises(RuntimeError), job_checkpoints(job()) as other:
            assert other not in seen and not list(other.iterdir())  # another param, another input's content
            seen.add(other)
            raise RuntimeError
    with job_checkpoints(Job([str(data)], seed=0)) as done:
        assert done in seen - {first}
    assert not done.exists() and first.exists()  # a job that succeeded leaves its own state behind only


def test_training_ignores_another_runs_checkpoint_without_loading_it(tmp_path):
    """A checkpoint of another fingerprint, even of another model shape, is neither loaded nor an error."""
    import jax.numpy as jnp

    from ffdiff.runtime.checkpoint import save_pytree
    from ffdiff.fitting.training import TrainSettings, train

    path = tmp_path / "training.npz"
    save_pytree(path, {"w": np.ones(7)}, {"fingerprint": "another job", "history": []})
    frames = type("Frames", (), {"__len__": lambda self: 4, "take": lambda self, index: jnp.ones(len(index))})()
    best, history, _ = train(lambda p, batch, w: jnp.sum((p["w"] - 2.0) ** 2) * jnp.mean(batch), {"w": jnp.zeros(3)},
                          frames, lambda p: float(jnp.sum((p["w"] - 2.0) ** 2)),
                          TrainSettings(epochs=2, batch_size=2, learning_rate=0.1), checkpoint=path, fingerprint="me")
    assert [row["epoch"] for row in history] == [1, 2] and best["w"].shape == (3,)
    assert json.loads(str(np.load(path)["__ffdiff__"]))["metadata"]["fingerprint"] == "me"
