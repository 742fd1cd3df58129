"""Config values that would go wrong only later are refused while Snakemake parses the workflow: names
that become paths or wildcards, keys a source needs, and constraints between keys (ffdiff.study.config).
Credentials in a download URL are used, never shown.

Unit cases validate an edited shipped config as the workflow does (schema with defaults, then
check_config); one run per kind shows Snakemake refuses it before any job, naming the key, and writes
nothing.
"""

import base64
import functools
import http.server
import re
import threading
from pathlib import Path

import pytest
import yaml
from run_workflow import ROOT, edited_config, snakemake
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ffdiff.study.config import check_config
from ffdiff.data.archive import redact_url

SCHEMA = str(ROOT / "workflow/schemas/config.schema.yaml")


def parsed(edit=lambda c: None, base: str = "smoke.yaml") -> dict:
    """``config/<base>`` changed by ``edit``, validated with defaults and checked as common.smk does."""
    config = yaml.safe_load((ROOT / "config" / base).read_text())
    edit(config)
    validate(config, SCHEMA, set_default=True)
    check_config(config)
    return config


def left_behind(work: Path) -> list[str]:
    return sorted(p.relative_to(work).as_posix() for p in work.rglob("*")
                  if p.is_file() and p.relative_to(work).parts[0] != ".snakemake")


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml", "paper.yaml"])
def test_shipped_configs_pass(name):
    parsed(base=name)


def test_user_input_paths_may_be_absolute():
    def edit(config):
        config["reference"] = {"source": "local", "local": {
            "unitcell": "/data/si/POSCAR", "displacements": "/data/si/phonopy_disp.yaml",
            "vasprun": ["/data/si/disp-001/vasprun.xml", "../si/disp-002/vasprun.xml"]}}
        config["gnn"]["snapshots"]["files"] = ["/data/cubuk/MD_DATA.cubic_300K"]
        config["gnn"]["trajectories"]["conditions"]["2000K"]["file"] = "/data/aimd/2000K/vasprun.xml"

    parsed(edit)


# --- names that become paths or wildcard values ---------------------------------------------------


def _rename_condition(config, old, new):
    conditions = config["gnn"]["trajectories"]["conditions"]
    conditions[new] = conditions.pop(old)


@pytest.mark.parametrize(("edit", "key"), [
    pytest.param(lambda c: c["gnn"]["snapshots"]["conditions"][0].update(name="../../../../x"),
                 "['gnn']['snapshots']['conditions'][0]['name']", id="snapshot-name-up"),
    pytest.param(lambda c: c["gnn"]["snapshots"]["conditions"][1].update(name="/tmp/x"),
                 "['gnn']['snapshots']['conditions'][1]['name']", id="snapshot-name-absolute"),
    pytest.param(lambda c: _rename_condition(c, "3000K", "../3000K"), "['gnn']['trajectories']['conditions']",
                 id="trajectory-key-up"),
    pytest.param(lambda c: _rename_condition(c, "3000K", "3000K|2000K"), "['gnn']['trajectories']['conditions']",
                 id="trajectory-key-regex"),
    pytest.param(lambda c: c["gnn"]["trajectories"].update(train="../2000K"), "['gnn']['trajectories']['train']",
                 id="train-up"),
    pytest.param(lambda c: c["reference"]["phonopy_example"].update(version="../../../x"),
                 "['reference']['phonopy_example']['version']", id="sdist-version-up"),
    pytest.param(lambda c: c["reference"].update(source="paper", paper={"files": {
        "supercell": "../../../etc/passwd", "force_constants": "FORCE_CONSTANTS"}}),
                 "['reference']['paper']['files']['supercell']", id="paper-file-up"),
    pytest.param(lambda c: c["reference"]["phonopy_example"].update(example="/example/Si"),
                 "['reference']['phonopy_example']['example']", id="sdist-member-absolute"),
])
def test_names_that_become_paths_are_restricted(edit, key):
    with pytest.raises(WorkflowError, match=re.escape(f"On instance{key}:")):
        parsed(edit)


def test_path_name_in_a_run_is_refused_before_any_job(tmp_path):
    def edit(config):
        config["gnn"]["snapshots"]["conditions"][0]["name"] = "../../../../x"

    work = tmp_path / "work"
    out = snakemake(work, "-n", config=edited_config(tmp_path / "bad.yaml", edit), succeed=False)
    assert "On instance['gnn']['snapshots']['conditions'][0]['name']:" in out, out
    assert left_behind(work) == []


# --- source-dependent keys, bounds and constraints between keys ------------------------------------


@pytest.mark.parametrize(("edit", "key"), [
    pytest.param(lambda c: c["reference"].update(source="local"), "['reference']['local']['unitcell']",
                 id="local-without-files"),
    pytest.param(lambda c: c["reference"].update(source="local", local={
        "unitcell": "POSCAR", "displacements": "disp.yaml"}), "['reference']['local']['vasprun']",
                 id="local-without-vasprun"),
    pytest.param(lambda c: c["reference"].update(phonons={"from": "force_sets"}), "['reference']['phonons']['file']",
                 id="force-sets-without-file"),
    pytest.param(lambda c: c["elastic"]["reference"].update({"from": "outcar"}), "['elastic']['reference']['outcar']",
                 id="outcar-without-file"),
    pytest.param(lambda c: c["elastic"]["reference"].update({"from": "strained"}),
                 "['elastic']['reference']['strained']['equilibrium']", id="strained-without-runs"),
    pytest.param(lambda c: c["gnn"]["md"].update(lattice_constant=54.31), "['gnn']['md']['lattice_constant']",
                 id="md-lattice-constant"),
    pytest.param(lambda c: c["potentials"]["sw"].update(lattice_constant=0.5431),
                 "['potentials']['sw']['lattice_constant']", id="potential-lattice-constant"),
    pytest.param(lambda c: c["gnn"]["trajectories"]["conditions"]["2000K_216"].update(repeat=12),
                 "['gnn']['trajectories']['conditions']['2000K_216']['repeat']", id="repeat"),
    pytest.param(lambda c: c["fits"].update(uncertainty={"band_samples": 7}),
                 "['fits']['uncertainty']['band_samples']", id="odd-band-samples"),  # antithetic pairs
    pytest.param(lambda c: c["fits"].update(targets={"bulk_modulus": {"value": 89.0, "std": 0.0, "source": "x"}}),
                 "['fits']['targets']['bulk_modulus']['std']", id="target-std"),
    pytest.param(lambda c: c["fits"].update(targets={"lattice_constant": {"value": 5.43, "std": 0.02}}),
                 "['fits']['targets']['lattice_constant']", id="target-without-source"),
])
def test_schema_bounds_and_required_keys(edit, key):
    with pytest.raises(WorkflowError, match=re.escape(f"On instance{key}:")):
        parsed(edit)


def test_phonon_file_not_needed_by_the_paper_source():
    parsed(lambda c: c["reference"].update(source="paper", phonons={"from": "force_sets"}))


@pytest.mark.parametrize(("edit", "message"), [
    pytest.param(lambda c: c["gnn"]["rdf_grid"].update(r_max=5.5),
                 "gnn.rdf_grid: r_max + 4·sigma = 5.9 Å exceeds 5.431 Å, half the cell width of trajectory 2000K "
                 "(repeat 2 × gnn.md.lattice_constant 5.431 Å), the smallest cell", id="rdf-grid"),
    pytest.param(lambda c: c["gnn"]["trajectories"]["conditions"]["3000K"].update(repeat=1),
                 "gnn.rdf_grid: r_max + 4·sigma = 5.4 Å exceeds 2.7155 Å, half the cell width of trajectory "
                 "3000K (repeat 1 ×", id="small-cell"),
    pytest.param(lambda c: c["gnn"]["rdf_grid"].update(r_min=5.0), "gnn.rdf_grid: expected r_min < r_max",
                 id="rdf-grid-order"),
    pytest.param(lambda c: c["fits"].update(objectives=["crystal"], targets={"lattice_constant": None}),
                 "fits.targets: expected at least one scalar target (fits.objectives has crystal)", id="no-targets"),
    pytest.param(lambda c: c["fits"].update(targets={"phase_energy": {"bcc": None}},
                                            all_parameters={"objectives": ["multi"]}),
                 "fits.targets: expected at least one scalar target (fits.all_parameters.weights.crystal > 0)",
                 id="no-targets-all-parameters"),
    pytest.param(lambda c: c["gnn"].update(split=[0.6, 0.2, 0.3]),
                 "gnn.split: expected train/validation/test fractions summing to 1, got [0.6, 0.2, 0.3] (sum 1.1)",
                 id="split"),
    pytest.param(lambda c: c["gnn"]["rdf"].update(record_every=50), "gnn.rdf.record_every: expected at most "
                 "gnn.rdf.n_steps = 10", id="rdf-record-every"),
    pytest.param(lambda c: c["gnn"]["rdf"].update(replicas=7), "gnn.rdf.replicas: expected at most the 6 frames of "
                 "the RDF target's smaller split (training or validation), got 7", id="rdf-replicas"),
    pytest.param(lambda c: c["gnn"]["evaluate"].update(n_runs=31), "gnn.evaluate.n_runs: expected at most the 30 "
                 "frames of a reference trajectory, got 31", id="evaluate-runs"),
    pytest.param(lambda c: c["gnn"]["trajectories"].update(rdf_target="2500K"), "gnn.trajectories.rdf_target: "
                 "'2500K' is not among the conditions ['2000K', '2000K_216', '3000K']", id="rdf-target"),
    pytest.param(lambda c: c["gnn"]["evaluate"].update(record_every=500), "gnn.evaluate.record_every: expected at "
                 "most gnn.evaluate.n_steps = 100", id="evaluate-record-every"),
    pytest.param(lambda c: c["gnn"]["snapshots"].update(sample_every_fs=2.5), "gnn.snapshots.sample_every_fs: "
                 "expected a multiple of gnn.md.timestep_fs = 1.0 fs, got 2.5", id="snapshot-sampling"),
    pytest.param(lambda c: c["gnn"]["trajectories"].update(sample_every_fs=500.0),
                 "gnn.trajectories.sample_every_fs: expected at most gnn.trajectories.production_fs = 300.0 fs",
                 id="no-frames"),
    pytest.param(lambda c: c["gnn"]["md"].update(timestep_fs=2.0, melt_fs=101.0),
                 "gnn.md.melt_fs: expected a positive multiple of gnn.md.timestep_fs = 2.0 fs", id="melt"),
    pytest.param(lambda c: c["gnn"]["snapshots"]["conditions"][1].update(name="cubic_300K"),
                 "gnn.snapshots.conditions: name 'cubic_300K' appears twice", id="duplicate-name"),
    pytest.param(lambda c: c["gnn"]["model"]["mpgnn"].update(cutoff=6.0),
                 "gnn.model.mpgnn.cutoff: 6 Å exceeds 5.431 Å, half the cell width of the RDF target trajectory 2000K",
                 id="cutoff"),
    pytest.param(lambda c: c["gnn"]["model"].update(kind="energy_graph_net", energy_graph_net={"cutoff": 5.5}),
                 "gnn.model.energy_graph_net.cutoff: 5.5 Å exceeds 5.431 Å", id="cutoff-energy-graph-net"),
])
def test_constraints_between_keys(edit, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parsed(edit)


def test_check_config_names_the_key_of_the_full_config():
    with pytest.raises(ValueError, match=re.escape("gnn.rdf.record_every: expected at most gnn.rdf.n_steps = 60")):
        parsed(lambda c: c["gnn"]["rdf"].update(record_every=61), base="config.yaml")


def test_user_trajectory_cells_are_not_checked():
    """A condition read from your file has the file's cell, unknown until the job reads it."""
    parsed(lambda c: c["gnn"]["trajectories"]["conditions"]["3000K"].update(repeat=1, file="/data/3000K.xml"))


@pytest.mark.parametrize(("edit", "message"), [
    pytest.param(lambda c: c["gnn"]["rdf_grid"].update(r_max=5.5), "gnn.rdf_grid: r_max + 4·sigma", id="rdf-grid"),
    pytest.param(lambda c: c["reference"].update(source="local"), "On instance['reference']['local']['unitcell']:",
                 id="local-without-files"),
])
def test_constraint_in_a_run_is_refused_before_any_job(tmp_path, edit, message):
    work = tmp_path / "work"
    out = snakemake(work, config=edited_config(tmp_path / "bad.yaml", edit), succeed=False)
    assert message in out and "Error in rule" not in out, out
    assert left_behind(work) == []


# --- credentials in URLs -------------------------------------------------------------------------

TOKEN = "s3cret-token"


@pytest.mark.parametrize(("url", "shown"), [
    (f"https://user:{TOKEN}@example.org/raw/HEAD/a?x=1", "https://***@example.org/raw/HEAD/a?x=1"),
    (f"https://{TOKEN}@example.org:8443/a", "https://***@example.org:8443/a"),
    (f"https://example.org/a?token={TOKEN}&ref=main", "https://example.org/a?token=***&ref=main"),
    (f"https://example.org/a?X-Amz-Signature={TOKEN}", "https://example.org/a?X-Amz-Signature=***"),
    ("https://example.org/a/b", "https://example.org/a/b"),
    ("file:///data/a", "file:///data/a"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


class _Repository(http.server.SimpleHTTPRequestHandler):
    """Serves files only to requests with the basic-auth credentials user:TOKEN (as GitHub takes a token)."""

    def do_GET(self):
        expected = "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_error(401)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def repository(tmp_path):
    """A private repository on localhost holding a 64-atom SPOSCAR and a FORCE_CONSTANTS file at the
    default paths; yields its URL without credentials."""
    from ase.build import bulk
    from ase.io import write

    folder = tmp_path / "served/Si_DFT/Si_VASP_DFT_FC"
    folder.mkdir(parents=True)
    write(folder / "SPOSCAR", bulk("Si", "diamond", a=5.431, cubic=True).repeat(2), format="vasp", direct=True)
    (folder / "FORCE_CONSTANTS_VASP").write_text("64 64\n")  # read by a later rule, not by the download
    handler = functools.partial(_Repository, directory=str(tmp_path / "served"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_netrc_credentials(repository, tmp_path, monkeypatch, caplog):
    """A base URL without credentials takes the host's entry in $NETRC (or ~/.netrc), as curl and pip do."""
    from ffdiff.data.archive import fetch_url

    host = repository.partition(":")[0]
    (tmp_path / "netrc").write_text(f"machine {host} login user password {TOKEN}\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    url = f"http://{repository}/Si_DFT/Si_VASP_DFT_FC/FORCE_CONSTANTS_VASP"
    assert fetch_url(url, tmp_path / "FORCE_CONSTANTS").read_text() == "64 64\n"
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    with pytest.raises(RuntimeError, match="HTTP Error 401"):
        fetch_url(url, tmp_path / "FORCE_CONSTANTS_2")
    assert TOKEN not in caplog.text


def _everything_shown(work: Path, out: str) -> str:
    """What the run printed, plus every file it left (logs, Snakemake's own logs) but the job metadata."""
    texts = [out] + [p.read_text(errors="replace") for p in work.rglob("*")
                     if p.is_file() and "metadata" not in p.relative_to(work).parts]
    return "\n".join(texts)


@pytest.mark.parametrize("found", [True, False], ids=["served", "missing"])
def test_url_credentials_are_used_and_never_shown(repository, tmp_path, found):
    base_url = f"http://user:{TOKEN}@{repository}" + ("" if found else "/no/such/folder")

    def edit(config):
        config["reference"] = {"source": "paper", "paper": {"base_url": base_url}}

    work = tmp_path / "work"
    out = snakemake(work, "-p", "resources/reference/paper/POSCAR-unitcell",
                    config=edited_config(tmp_path / "paper.yaml", edit), succeed=found)
    shown = _everything_shown(work, out)
    assert TOKEN not in shown, shown
    assert f"http://***@{repository}" in out
    if not found:
        assert "HTTP Error 404" in (work / "logs/download_paper_reference.log").read_text()
