"""Bad input is refused once, clearly and early: one message that names the file or config key and
says what is wrong, a non-zero exit, and nothing partial left behind.

File cases check the library reader's message, then run the workflow in a fresh directory only up to
the rule that reads the file (seconds; the smoke run's VASP files are the good inputs). Config cases
fail while Snakemake parses the workflow, before any job: the schema itself is tested case by case in
test_config.py, here a run shows Snakemake refuses such a config and writes nothing.
"""

import re
from pathlib import Path

import pytest
from run_workflow import edited_config, local_reference, snakemake

REFERENCE = "resources/reference"


@pytest.fixture
def vasp(smoke_run) -> Path:
    """Good VASP reference files (read only)."""
    return smoke_run / f"{REFERENCE}/vasp"


def left_behind(work: Path) -> list[str]:
    """Every file a run left in ``work``, Snakemake's own bookkeeping (.snakemake/) aside."""
    return sorted(p.relative_to(work).as_posix() for p in work.rglob("*")
                  if p.is_file() and p.relative_to(work).parts[0] != ".snakemake")


def fails_in(rule: str, work: Path, config: Path, target: str, message: str) -> None:
    """Run up to ``target``: only ``rule`` fails, with ``message`` in its log and in Snakemake's output."""
    out = snakemake(work, target, config=config, succeed=False)
    assert re.findall(r"Error in rule (\w+):", out) == [rule], out
    assert message in (work / f"logs/{rule}.log").read_text() and message in out, out
    assert not (work / target).exists() and not (work / "results").exists()


def test_truncated_vasprun(vasp, tmp_path):
    """A vasprun.xml cut short after its forces, as by a killed job: ASE alone would read it."""
    from ffdiff.data import read_vasprun

    text = (vasp / "vasprun-001.xml").read_bytes()
    truncated = tmp_path / "vasprun.xml"
    truncated.write_bytes(text[: text.index(b"</calculation>") + len(b"</calculation>")])
    message = f"cannot read energies and forces from {truncated}: truncated or corrupt XML (no element found"
    with pytest.raises(ValueError, match=re.escape(message)):
        read_vasprun(truncated)
    config = edited_config(tmp_path / "config.yaml",
                           lambda c: c.update(reference=local_reference(vasp, vasprun=[truncated])))
    work = tmp_path / "work"
    fails_in("copy_local_reference", work, config, f"{REFERENCE}/structures.traj", message)
    assert left_behind(work) == ["logs/copy_local_reference.log"]  # not one file copied


def test_outcar_without_elastic_moduli(tmp_path):
    from ffdiff.data.outcar import read_elastic_moduli

    outcar = tmp_path / "OUTCAR"
    outcar.write_text(" vasp.6.4.2\n POSITION                                       TOTAL-FORCE (eV/Angst)\n")
    message = (f"{outcar}: no 'TOTAL ELASTIC MODULI (kBar)' block (expected the OUTCAR of a VASP run with "
               "IBRION = 6 and ISIF >= 3)")
    with pytest.raises(ValueError, match=re.escape(message)):
        read_elastic_moduli(outcar)
    config = edited_config(tmp_path / "config.yaml",
                           lambda c: c["elastic"]["reference"].update({"from": "outcar", "outcar": str(outcar)}))
    work = tmp_path / "work"
    fails_in("elastic_reference", work, config, f"{REFERENCE}/elastic.json", message)
    assert left_behind(work) == ["logs/elastic_reference.log"]


def test_unit_cell_of_another_element(vasp, tmp_path):
    """A germanium POSCAR given as the local reference of a silicon study (reference.element: Si)."""
    from ffdiff.data import reference_structures
    from ffdiff.exceptions import StructureError

    poscar = tmp_path / "POSCAR-unitcell"
    poscar.write_text((vasp / "POSCAR-unitcell").read_text().replace("Si", "Ge"))
    message = f"{poscar}: expected Si only, found ['Ge']"
    with pytest.raises(StructureError, match=re.escape(message)):
        reference_structures(poscar, vasp / "displacements.yaml", [vasp / "vasprun-001.xml"], element="Si")
    config = edited_config(tmp_path / "config.yaml",
                           lambda c: c.update(reference=local_reference(vasp, unitcell=poscar)))
    work = tmp_path / "work"
    fails_in("copy_local_reference", work, config, f"{REFERENCE}/structures.traj", message)
    assert left_behind(work) == ["logs/copy_local_reference.log"]


def test_force_constants_of_another_supercell(smoke_run, vasp, tmp_path):
    """A FORCE_CONSTANTS file of 8 atoms for the 64-atom supercell of the displacement file."""
    from ase.io import read
    from phonopy.file_IO import write_FORCE_CONSTANTS

    from ffdiff.data.phonopy import load_phonopy, phonopy_from_force_constants, read_displacements

    fc = load_phonopy(smoke_run / f"{REFERENCE}/phonopy_params.yaml").force_constants
    path = tmp_path / "FORCE_CONSTANTS"
    write_FORCE_CONSTANTS(fc[:8, :8], filename=path)
    message = f"{path}: force constants of shape (8, 8), expected (64, 64) or (2, 64) for the 64-atom supercell"
    with pytest.raises(ValueError, match=re.escape(message)):
        phonopy_from_force_constants(read(vasp / "POSCAR-unitcell"), read_displacements(vasp / "displacements.yaml")[0],
                                     path)
    reference = local_reference(vasp) | {"phonons": {"from": "force_constants", "file": str(path)}}
    config = edited_config(tmp_path / "config.yaml", lambda c: c.update(reference=reference))
    work = tmp_path / "work"
    fails_in("dft_force_constants", work, config, f"{REFERENCE}/phonopy_params.yaml", message)
    copied = [f"{REFERENCE}/vasp/{name}" for name in ("POSCAR-unitcell", "displacements.yaml", "vasprun-001.xml")]
    assert left_behind(work) == sorted(["logs/copy_local_reference.log", "logs/dft_force_constants.log", *copied])


@pytest.mark.parametrize(
    ("edit", "message", "key"),
    [
        pytest.param(lambda c: c["gnn"]["trajectories"]["conditions"]["3000K"].update(temperature_K=-300),
                     "-300 is less than or equal to the minimum of 0",
                     "['gnn']['trajectories']['conditions']['3000K']['temperature_K']", id="negative-temperature"),
        pytest.param(lambda c: c["fits"]["weights"].update(elastic=float("nan")),
                     "nan should not be valid under {'$ref': '#/$defs/nan_or_infinity'}",
                     "['fits']['weights']['elastic']", id="nan-weight"),
        pytest.param(lambda c: c["fits"].update(weigths=c["fits"].pop("weights")),
                     "Additional properties are not allowed ('weigths' was unexpected)", "['fits']",
                     id="nested-typo"),
        pytest.param(lambda c: c.update(seed=0), "Additional properties are not allowed ('seed' was unexpected)",
                     "", id="top-level-typo"),
    ],
)
def test_bad_config_stops_the_workflow_before_any_job(tmp_path, edit, message, key):
    work = tmp_path / "work"
    out = snakemake(work, config=edited_config(tmp_path / "bad.yaml", edit), succeed=False)
    assert "Error validating config file." in out and message in out and f"On instance{key}:" in out, out
    assert left_behind(work) == []
