"""Elastic constants from strained VASP runs (pymatgen stress–strain fit).

The runs are real vasprun.xml files (phonopy's VASP example) whose lattice, positions and stress
are replaced by those of pymatgen's standard strain set, with stresses computed by SW: the fit must
then return SW's clamped-ion constants.
"""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from ase.build import bulk
from ase.units import GPa

from ffdiff import Calculator
from ffdiff.data.strained import elastic_from_strained_runs
from run_workflow import ROOT, snakemake

SW_CLAMPED = {"C11": 151.4131, "C12": 76.4154, "C44": 109.7479}  # GPa at a = 5.431 Å (C44 unrelaxed)


def _set_varray(root, name, rows):
    for varray in root.iter("varray"):
        if varray.get("name") == name:
            for v, row in zip(varray.findall("v"), rows, strict=True):
                v.text = " ".join(f"{x:16.8f}" for x in row)


def _vasprun(template, path, atoms):
    """``template`` with ``atoms``' lattice, positions and SW stress (kBar, VASP's sign)."""
    atoms.calc = Calculator("sw")
    sigma = atoms.get_stress(voigt=False) / GPa  # ASE: positive in tension
    tree = ET.parse(template)
    _set_varray(tree.getroot(), "basis", np.asarray(atoms.cell))
    _set_varray(tree.getroot(), "positions", atoms.get_scaled_positions())
    _set_varray(tree.getroot(), "stress", -10.0 * sigma)
    tree.write(path)
    return path


@pytest.fixture(scope="module")
def strained_runs(vasp_reference, tmp_path_factory):
    from pymatgen.analysis.elasticity.strain import DeformedStructureSet
    from pymatgen.io.ase import AseAtomsAdaptor

    folder = tmp_path_factory.mktemp("strained")
    crystal = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)  # 64 atoms, as the template
    equilibrium = _vasprun(vasp_reference["vasprun"], folder / "vasprun-eq.xml", crystal.copy())
    structures = DeformedStructureSet(AseAtomsAdaptor.get_structure(crystal), norm_strains=(-0.01, -0.005, 0.005, 0.01),
                                      shear_strains=(-0.01, -0.005, 0.005, 0.01))
    runs = [_vasprun(vasp_reference["vasprun"], folder / f"vasprun-{k:02d}.xml", AseAtomsAdaptor.get_atoms(s))
            for k, s in enumerate(structures)]
    return equilibrium, runs


def test_stress_strain_fit_recovers_the_stiffness(strained_runs):
    equilibrium, runs = strained_runs
    c = elastic_from_strained_runs(equilibrium, runs)
    assert [c[0, 0], c[0, 1], c[3, 3]] == pytest.approx(list(SW_CLAMPED.values()), abs=0.1)
    np.testing.assert_allclose(c, c.T, atol=0.2)
    assert np.abs(c[:3, 3:]).max() < 0.2 and c[4, 4] == pytest.approx(c[3, 3], abs=0.1)


def test_missing_strain_states_and_bad_files(strained_runs, tmp_path):
    equilibrium, runs = strained_runs
    with pytest.raises(ValueError, match="do not span the six strain states"):
        elastic_from_strained_runs(equilibrium, runs[:12])  # normal strains only
    broken = tmp_path / "vasprun.xml"
    broken.write_text(runs[0].read_text()[:5000])
    with pytest.raises(ValueError, match="cannot read the final stress of .*vasprun.xml"):
        elastic_from_strained_runs(equilibrium, [broken, *runs[1:]])


def test_workflow_reads_strained_runs(strained_runs, tmp_path):
    import json

    import yaml

    equilibrium, runs = strained_runs
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["elastic"]["reference"] |= {"from": "strained",
                                       "strained": {"equilibrium": str(equilibrium), "runs": list(map(str, runs))}}
    path = tmp_path / "strained.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake(tmp_path / "work", "resources/reference/elastic.json", config=path)
    doc = json.loads((tmp_path / "work/resources/reference/elastic.json").read_text())
    assert doc["matrix_gpa"][0][0] == pytest.approx(SW_CLAMPED["C11"], abs=0.1)
    assert doc["source"] == "stress-strain fit of 24 strained VASP runs"
