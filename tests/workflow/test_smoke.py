"""The whole DAG on the smoke config, in a scratch directory: it runs, reruns nothing, and the
same stage fed "your own VASP files" (source: local) gives the same numbers."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import outcar_text
from run_workflow import ROOT, local_reference, snakemake

from ffdiff.study.jobs import CHECKPOINTS


def test_outputs_and_physics(smoke_run):
    sw = json.loads((smoke_run / "results/potentials/sw/check.json").read_text())
    edip = json.loads((smoke_run / "results/potentials/edip/check.json").read_text())
    # Equilibrium lattice constants of the originals, Å (reference cell: DFT's 5.4662 Å).
    assert sw["structures"]["unitcell"]["equilibrium_cell_lengths"][0] == pytest.approx(5.43095, abs=1e-4)
    assert edip["structures"]["unitcell"]["equilibrium_cell_lengths"][0] == pytest.approx(5.43050, abs=1e-4)
    disp = sw["structures"]["displacement-001"]
    # DFT's restoring force on the displaced atom (0.01 Å along x) and SW's stiffer one.
    assert disp["dft"]["displaced_atom_force"][0] == pytest.approx(-0.12907297, abs=1e-8)
    assert disp["displaced_atom_force"][0] == pytest.approx(-0.1718, abs=1e-3)
    assert (smoke_run / "logs/check_potential/sw.log").read_text().strip()
    assert (smoke_run / "results/benchmarks/check_potential/edip.tsv").exists()


def test_fit_outputs(smoke_run):
    import pandas as pd

    for table in ("elastic_fit", "phonon_fit", "multi_fit"):
        df = pd.read_csv(smoke_run / f"results/tables/{table}.csv")
        assert list(df.columns[:4]) == ["potential", "convention", "optimizer", "start"]
        assert {"C11", "C12", "C44", "loss", "n_iter", "n_fev", "converged"} <= set(df.columns)
        assert set(df.optimizer) == {"original", "BFGS", "Nelder-Mead"}
        if table != "elastic_fit":
            assert {"fc_loss", "nu_max_Gamma", "nu_max_Gamma_dft"} <= set(df.columns)
    elastic = pd.read_csv(smoke_run / "results/tables/elastic_fit.csv")
    paper = elastic.query("potential == 'sw' and convention == 'paper' and optimizer == 'BFGS' and start == 0")
    assert paper.epsilon.item() == pytest.approx(1.93516, abs=2e-5)
    lammps = (smoke_run / "results/fits/elastic_paper/sw/Si.sw").read_text()
    assert "Si Si Si 1.9351" in lammps
    check = pd.read_csv(smoke_run / "results/tables/lammps_check.csv")
    assert len(check) == 2 + 2 * 3  # originals and every fit
    assert set(check.parameters) == {"original", "elastic_paper", "phonon", "multi"}
    for quantity in ("C11", "C12", "C44_0", "C44"):
        assert (check[f"{quantity}_ffdiff"] - check[f"{quantity}_lammps"]).abs().max() < 0.1
    phonons = json.loads((smoke_run / "results/fits/phonon/sw/phonons.json").read_text())
    assert set(phonons) == {"original", "fitted", "DFT"}
    assert phonons["DFT"]["frequencies"]["Gamma"][-1] == pytest.approx(15.0987, abs=1e-3)
    band, fitted = phonons["fitted"]["band"], phonons["fitted"]["bands"]["frequencies"]
    assert band["samples"] == 8 and len(band["lower"]) == len(band["upper"]) == len(fitted)
    for low, curve, high in zip(band["lower"], fitted, band["upper"], strict=True):
        assert np.all(np.asarray(low) <= np.asarray(curve) + 1e-7) and np.all(np.asarray(curve) <= np.asarray(high) + 1e-7)
    thermal = phonons["DFT"]["thermal"]
    cv_300 = thermal["heat_capacity"][thermal["temperatures"].index(300.0)]
    assert 35 < cv_300 < 42  # J/K per mol of 2-atom primitive cells; experiment ≈ 2 × 19.8
    for name in ("loss_multi_edip", "landscape_phonon_sw", "properties_phonon_sw", "properties_elastic_paper_edip"):
        assert (smoke_run / f"results/figures/{name}.png").stat().st_size > 10_000


def test_local_vasp_source_gives_same_numbers(smoke_run, tmp_path):
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["reference"] = local_reference(smoke_run / "resources/reference/vasp")
    config["potentials"] = {"sw": config["potentials"]["sw"]}
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "results/potentials/sw/check.json", config=path)
    ours = json.loads((tmp_path / "results/potentials/sw/check.json").read_text())
    theirs = json.loads((smoke_run / "results/potentials/sw/check.json").read_text())
    assert ours["structures"] == theirs["structures"]
    assert not (tmp_path / "results/potentials/edip").exists()


def _sections(page: str) -> dict[str, str]:
    """The results page's sections by heading (the text before the first one under "")."""
    parts = re.split(r"^## (.+)$", page, flags=re.MULTILINE)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


@pytest.mark.parametrize("table", ["potentials_check", "fit_summary"])
def test_committed_results_page_has_the_generated_classical_tables(smoke_run, table):
    """docs/results.md is the workflow's page, not typed: its classical tables hold a fresh run's rows. The
    smoke config runs fewer potentials, objectives, optimizers and starts, but every fit reaches the
    same optimum to the printed digits."""
    committed = (ROOT / "docs/results.md").read_text()
    generated = (smoke_run / "results/docs/results.md").read_text()
    assert list(_sections(committed)) == list(_sections(generated))
    rows = _table_rows((smoke_run / f"results/tables/{table}.md").read_text())
    assert rows and set(rows) <= set(_table_rows(committed))  # the smoke config runs a subset of the fits
    assert (smoke_run / f"results/tables/{table}.md").read_text().strip() in generated


def test_ci_runs_the_readme_commands():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci/run").read_text()
    install = next(line for line in ci.splitlines() if "pip install" in line)
    assert install in readme and "\npytest\n" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    slurm = next(k for k, line in enumerate(commands) if "bash tests/slurm/run.sh" in line)
    assert "pytest" in commands[:slurm]  # the README's test command, then the cluster check


def test_force_constants_file_and_outcar_sources(smoke_run, tmp_path):
    """The reference stage fed a FORCE_CONSTANTS file and an OUTCAR instead of vasprun + config."""
    from phonopy.file_IO import write_FORCE_CONSTANTS

    from ffdiff.data.phonopy import load_phonopy

    reference = load_phonopy(smoke_run / "resources/reference/phonopy_params.yaml")
    write_FORCE_CONSTANTS(reference.force_constants, filename=tmp_path / "FORCE_CONSTANTS")
    outcar = tmp_path / "OUTCAR"
    cubic = np.diag([900.0, 900.0, 900.0, 700.0, 700.0, 700.0]) + np.pad(np.full((3, 3), 600.0), (0, 3))
    outcar.write_text(outcar_text(cubic))  # kBar, a whole OUTCAR as pymatgen reads it
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["reference"]["phonons"] = {"from": "force_constants", "file": str(tmp_path / "FORCE_CONSTANTS")}
    config["elastic"]["reference"] |= {"from": "outcar", "outcar": str(outcar)}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(config))
    work = tmp_path / "work"
    snakemake(work, "resources/reference/phonopy_params.yaml", "resources/reference/elastic.json", config=path)
    ours = load_phonopy(work / "resources/reference/phonopy_params.yaml")
    assert abs(ours.force_constants - reference.force_constants).max() < 1e-12
    elastic = json.loads((work / "resources/reference/elastic.json").read_text())
    assert elastic["matrix_gpa"][0][0] == pytest.approx(150.0) and elastic["matrix_gpa"][3][3] == pytest.approx(70.0)
    assert "OUTCAR" in elastic["source"]


@pytest.fixture
def paper_server(smoke_run, tmp_path):
    """The authors' repository layout (SPOSCAR + FORCE_CONSTANTS_VASP), served over HTTP from a local
    directory, with the phonopy example's DFT force constants standing in for the authors'."""
    import functools
    import http.server
    import threading

    from phonopy.file_IO import write_FORCE_CONSTANTS
    from phonopy.interface.vasp import write_vasp

    from ffdiff.data.phonopy import load_phonopy

    reference = load_phonopy(smoke_run / "resources/reference/phonopy_params.yaml")
    folder = tmp_path / "served/Si_DFT/Si_VASP_DFT_FC"
    folder.mkdir(parents=True)
    write_vasp(folder / "SPOSCAR", reference.supercell, direct=True)
    write_FORCE_CONSTANTS(reference.force_constants, filename=folder / "FORCE_CONSTANTS_VASP")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=tmp_path / "served")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", reference
    server.shutdown()


def _paper_config(tmp_path, base_url) -> Path:
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["reference"] = {"source": "paper", "paper": {"base_url": base_url}}
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_paper_source_downloads_force_constants(paper_server, tmp_path):
    from ase.io import read

    from ffdiff.data.phonopy import load_phonopy

    url, reference = paper_server
    work = tmp_path / "work"
    snakemake(work, "resources/reference/phonopy_params.yaml", "resources/reference/structures.traj",
              config=_paper_config(tmp_path, url))
    ours = load_phonopy(work / "resources/reference/phonopy_params.yaml")
    assert abs(ours.force_constants - reference.force_constants).max() < 1e-12
    unitcell = read(work / "resources/reference/paper/POSCAR-unitcell")
    assert len(unitcell) == 8 and unitcell.cell.lengths() == pytest.approx([5.4662] * 3, abs=1e-4)
    names = [a.info["name"] for a in read(work / "resources/reference/structures.traj", ":")]
    assert names == ["unitcell", "supercell"]


def test_paper_source_offline_fails_clearly(paper_server, tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on: what "offline" looks like
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    work = tmp_path / "work"
    snakemake(work, "resources/reference/phonopy_params.yaml", config=_paper_config(tmp_path, url), succeed=False)
    log = (work / "logs/download_paper_reference.log").read_text()
    assert f"could not download {url}/Si_DFT/Si_VASP_DFT_FC/SPOSCAR" in log and "network access" in log
    assert not any((work / "resources/reference").rglob("*SPOSCAR*"))


def test_gnn_chain_outputs(smoke_run):
    """Table 6's error part per trained model; the replicated MD tests as the stability table of the
    output contract, the teacher (positive control) stable in every run and at the noise floor; the
    runs of one model and condition independent, the same plan for every model; the arm comparison;
    the RDF arm's share of the loss in the training table."""
    import pandas as pd

    from ffdiff.potentials.models import load_model
    from ffdiff.study.report import GNN_COLUMNS, STABILITY_COLUMNS

    table = pd.read_csv(smoke_run / "results/tables/gnn_metrics.csv")
    assert list(table.columns) == GNN_COLUMNS
    assert list(table.model.unique()) == ["pretrained", "ft_start", "ft", "ft_rdf_50"]
    assert list(table.condition[:3]) == ["train", "test", "snapshots_test"] and len(table) == 12
    assert (table.force_rmse > table.force_mae).all() and table.energy_rmse_mev_atom.notna().all()
    assert "surrogate" in (smoke_run / "results/tables/gnn_metrics.md").read_text()

    stability = pd.read_csv(smoke_run / "results/tables/gnn_stability.csv")
    assert list(stability.columns) == STABILITY_COLUMNS
    assert stability.model.tolist() == ["teacher", "pretrained", "ft", "ft_rdf"] * 3
    assert (stability.n_runs == 2).all() and (stability.n_stable <= stability.n_runs).all()
    teacher = stability[stability.model == "teacher"]
    assert (teacher.n_stable == teacher.n_runs).all()
    assert np.allclose(teacher.rdf_mse_mean, teacher.rdf_mse_noise_floor)
    assert (stability[stability.model == "ft"].rdf_weight == 0).all()
    assert (stability[stability.model == "ft_rdf"].rdf_weight > 0).all()
    plans = {}
    for model in ("teacher", "pretrained", "ft", "ft_rdf_50"):
        runs = json.loads((smoke_run / f"results/gnn/{model}/md_3000K.json").read_text())["runs"]
        plans[model] = [(r["start_frame"], r["seed"]) for r in runs]
        assert len(set(plans[model])) == len(runs) == 2 and len({s for _, s in plans[model]}) == 2
    assert len(set(map(tuple, plans.values()))) == 1  # every model the same starts and seeds
    comparison = pd.read_csv(smoke_run / "results/tables/gnn_comparison.csv")
    assert comparison.arm.tolist() == ["ft_rdf_50"] * 3
    assert set(comparison.stability) <= {"more stable", "less stable", "no difference detected", "not tested"}
    training = pd.read_csv(smoke_run / "results/tables/gnn_training.csv").set_index("model")
    assert training.loc["ft_rdf_50", "rdf_share_start"] == 0.5 and training.loc["ft", "rdf_weight"] == 0
    assert 0 < training.loc["ft_rdf_50", "rdf_share_last_epoch"] < 1
    model, params, meta = load_model(smoke_run / "results/gnn/ft_rdf_50/model.npz")
    assert meta["stage"] == "ft_rdf_50" and model.config.features == 16
    assert not (smoke_run / CHECKPOINTS).exists()  # finished jobs keep no checkpoints
    for name in ("gnn_rdf", "gnn_losses", "gnn_survival", "gnn_failed_rdf"):
        assert (smoke_run / f"results/figures/{name}.png").stat().st_size > 10_000
    trajectory = json.loads((smoke_run / "resources/gnn/trajectory_2000K_216.json").read_text())
    assert trajectory["n_atoms"] == 216 and trajectory["phase_found"] in ("crystal", "liquid")
    # cacheable rules have no benchmark file: their logs end with the timing instead
    assert re.search(r"wall time [\d.]+ s, peak memory \d+ MB", (smoke_run / "logs/gnn_pretrain.log").read_text())


def test_gnn_reads_your_own_data(smoke_run, tmp_path):
    """Snapshots and a trajectory given as files (extended XYZ here; any read_frames format) replace the
    teacher's, frame for frame."""
    from ase.io import write

    from ffdiff.data.dataset import Dataset

    snapshots = Dataset.load(smoke_run / "resources/gnn/snapshots.npz")
    trajectory = Dataset.load(smoke_run / "resources/gnn/trajectory_2000K.npz")
    write(tmp_path / "snapshots.extxyz", snapshots.to_frames())
    write(tmp_path / "aimd.extxyz", trajectory.to_frames())
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["gnn"]["snapshots"]["files"] = [str(tmp_path / "snapshots.extxyz")]
    config["gnn"]["trajectories"]["conditions"]["2000K"]["file"] = str(tmp_path / "aimd.extxyz")
    path = tmp_path / "files.yaml"
    path.write_text(yaml.safe_dump(config))
    work = tmp_path / "work"
    snakemake(work, "resources/gnn/snapshots.npz", "resources/gnn/trajectory_2000K.npz", config=path)
    for name, reference in (("snapshots", snapshots), ("trajectory_2000K", trajectory)):
        ours = Dataset.load(work / f"resources/gnn/{name}.npz")
        np.testing.assert_allclose(ours.forces, reference.forces, atol=1e-8)
        np.testing.assert_allclose(ours.energies, reference.energies, atol=1e-8)


def test_report_gathers_every_figure_and_table(smoke_run):
    snakemake(smoke_run, "--report", "results/report.html")
    html = (smoke_run / "results/report.html").read_text(errors="replace")
    for name in ("gnn_rdf.png", "gnn_metrics.csv", "landscape_phonon_sw.png", "properties_multi_edip.png",
                 "elastic_fit.csv", "lammps_check.csv", "potentials_check.csv"):
        assert name in html, name
    assert "EDIP surrogate (not DFT)" in html  # the captions say where the GNN reference came from


def test_killed_pretraining_resumes_to_the_same_model(smoke_run, tmp_path):
    """Kill the pretraining rule after a few epochs, rerun: it resumes from its checkpoint and writes
    the same model, bit for bit, as an uninterrupted run."""
    import os
    import shutil
    import signal
    import time

    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    # Long enough (a few seconds once compiled) that the kill lands mid-run: no early stop, no decay.
    config["gnn"]["pretrain"].update(epochs=60, patience=1000, decay_patience=1000)
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    runs = {}
    for name in ("killed", "whole"):
        work = tmp_path / name
        (work / "resources/gnn").mkdir(parents=True)
        shutil.copy(smoke_run / "resources/gnn/snapshots.npz", work / "resources/gnn/snapshots.npz")
        runs[name] = work
    target = ("results/gnn/pretrained/model.npz", "--rerun-triggers", "mtime", "input")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(runs["killed"]),
           "--configfile", str(path), "--cores", "2", *target]  # as the rerun: same threads, same bits
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoints = runs["killed"] / CHECKPOINTS / "gnn_pretrain"
    deadline = time.monotonic() + 300
    while not list(checkpoints.glob("*/*/training.npz")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job, as a scheduler's kill would
    proc.wait()
    assert list(checkpoints.glob("*/*/training.npz"))
    assert not (runs["killed"] / "results/gnn/pretrained/model.npz").exists()
    snakemake(runs["killed"], "--unlock", config=path)  # a hard kill leaves Snakemake's lock behind
    log = snakemake(runs["killed"], *target, "--rerun-incomplete", config=path)
    assert "resuming from" in (runs["killed"] / "logs/gnn_pretrain.log").read_text(), log
    assert not checkpoints.exists()
    snakemake(runs["whole"], *target, config=path)
    ours = np.load(runs["killed"] / "results/gnn/pretrained/model.npz")
    theirs = np.load(runs["whole"] / "results/gnn/pretrained/model.npz")
    assert sorted(ours.files) == sorted(theirs.files)
    for key in ours.files:
        if key != "__ffdiff__":
            np.testing.assert_array_equal(ours[key], theirs[key])


def _headers(text: str) -> list[str]:
    """The header row of every Markdown table in ``text``."""
    lines = text.splitlines()
    return [lines[k - 1] for k, line in enumerate(lines) if k and line.startswith("|---")]


def test_committed_results_page_has_the_generated_gnn_layout(smoke_run):
    """The GNN sections of docs/results.md come from a full run (too long for CI): every section's
    table headers as this checkout generates them; the error table's caption, header and rows (6 trained
    models × 3 splits); the stability tables' rows (6 tested models × 4 conditions, 3 arms × 4)."""
    committed = _sections((ROOT / "docs/results.md").read_text())
    generated = _sections((smoke_run / "results/docs/results.md").read_text())
    assert list(committed) == list(generated)
    for heading, text in generated.items():
        assert _headers(committed[heading]) == _headers(text), heading
    errors = committed["GNN energy and force errors"]
    assert "\n".join((smoke_run / "results/tables/gnn_metrics.md").read_text().splitlines()[:4]) in errors
    assert len(_table_rows(errors)) == 1 + 6 * 3
    stability = committed["GNN stability at unseen conditions"]
    assert len(_table_rows(stability)) == (1 + 6 * 4) + (1 + 3 * 4)
