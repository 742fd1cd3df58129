"""Reference readers: phonopy FORCE_SETS / FORCE_CONSTANTS, OUTCAR elastic moduli, bad input."""

import numpy as np
import pytest
from ase.io import read
from conftest import outcar_text

from ffdiff.data.outcar import read_elastic_moduli
from ffdiff.data.phonopy import (
    phonopy_from_force_constants,
    phonopy_from_force_sets,
    read_displacements,
)
from ffdiff.data.reference import reference_structures
from ffdiff.data.vasp import read_vasprun

DFT_KBAR = np.array([[1532.141, 567.969, 567.969, 0.0, 0.0, 1.0], [567.969, 1532.141, 567.969, 0.0, 0.0, -0.0],
                     [567.969, 567.969, 1532.141, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 748.3265, 0.0, 0.0],
                     [0.0, 0.0, 0.0, 0.0, 748.3265, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, 748.3265]])
CLAMPED_KBAR = DFT_KBAR + np.diag([0, 0, 0, 51.77, 51.77, 51.77])  # the ionic relaxation softens the shear
VASP_ORDER = ["XX", "YY", "ZZ", "XY", "YZ", "ZX"]
VOIGT = {"XX": 0, "YY": 1, "ZZ": 2, "YZ": 3, "ZX": 4, "XY": 5}  # xx yy zz yz xz xy


def test_outcar_elastic_moduli(tmp_path):
    """The TOTAL block of a whole OUTCAR, not the clamped-ion blocks before it, in GPa and Voigt order."""
    path = tmp_path / "OUTCAR"
    path.write_text(outcar_text(DFT_KBAR, CLAMPED_KBAR))
    c = read_elastic_moduli(path)
    assert [c[0, 0], c[0, 1], c[3, 3]] == pytest.approx([153.2141, 56.7969, 74.83265], abs=1e-12)
    assert c[0, 4] == pytest.approx(0.1) and c[4, 0] == pytest.approx(0.1)  # XX-ZX -> Voigt (xx, xz)
    assert np.count_nonzero(c) == 3 * 3 + 3 + 2
    distinct = np.arange(36.0).reshape(6, 6) * 10.0 - 100.0  # every entry its own, some negative
    path.write_text(outcar_text(distinct))
    c = read_elastic_moduli(path)
    for i, a in enumerate(VASP_ORDER):
        for j, b in enumerate(VASP_ORDER):
            assert c[VOIGT[a], VOIGT[b]] == distinct[i, j] / 10.0, (a, b)


def test_outcar_elastic_moduli_refused(tmp_path):
    path = tmp_path / "OUTCAR"
    path.write_text(" nothing here\n")
    with pytest.raises(ValueError, match="no 'TOTAL ELASTIC MODULI.*IBRION = 6"):
        read_elastic_moduli(path)
    whole = outcar_text(DFT_KBAR, CLAMPED_KBAR)
    block = whole[whole.index(" TOTAL ELASTIC"):whole.index(" General timing")]
    path.write_text(block)  # the block alone: pymatgen needs the OUTCAR around it
    with pytest.raises(ValueError, match="not a VASP OUTCAR that pymatgen reads .*not the elastic block alone"):
        read_elastic_moduli(path)
    path.write_text(whole[:whole.rindex("\n YZ") + 1])  # a run killed while writing the last block
    with pytest.raises(ValueError, match="truncated \\(4 of 6 rows\\)"):
        read_elastic_moduli(path)
    path.write_text(whole.replace("    748.3265      0.0000\n ZX", "************      0.0000\n ZX"))
    with pytest.raises(ValueError, match=r"OUTCAR, line 5\d: cannot read the elastic moduli from 'YZ .*\*{12}"):
        read_elastic_moduli(path)
    path.write_text(whole.rsplit(" ---", 1)[0])  # no closing dashes
    with pytest.raises(ValueError, match="block does not end with VASP's line of dashes"):
        read_elastic_moduli(path)


def test_force_sets_and_force_constants_agree(vasp_reference, dft_phonon, tmp_path):
    from phonopy.file_IO import write_FORCE_CONSTANTS, write_FORCE_SETS

    unitcell = read(vasp_reference["unitcell"])
    supercell, _ = read_displacements(vasp_reference["displacements"])
    write_FORCE_SETS(dft_phonon.dataset, filename=tmp_path / "FORCE_SETS")
    from_sets = phonopy_from_force_sets(unitcell, supercell, tmp_path / "FORCE_SETS")
    np.testing.assert_allclose(from_sets.force_constants, dft_phonon.force_constants, atol=1e-12)
    write_FORCE_CONSTANTS(dft_phonon.force_constants, filename=tmp_path / "FORCE_CONSTANTS")
    from_fc = phonopy_from_force_constants(unitcell, supercell, tmp_path / "FORCE_CONSTANTS")
    np.testing.assert_allclose(from_fc.force_constants, dft_phonon.force_constants, atol=1e-12)


def test_force_constants_with_wrong_atom_count(vasp_reference, dft_phonon, tmp_path):
    from phonopy.file_IO import write_FORCE_CONSTANTS

    write_FORCE_CONSTANTS(dft_phonon.force_constants[:8, :8], filename=tmp_path / "FORCE_CONSTANTS")
    supercell, _ = read_displacements(vasp_reference["displacements"])
    with pytest.raises(ValueError, match="FORCE_CONSTANTS: force constants of shape \\(8, 8\\), expected \\(64, 64\\)"):
        phonopy_from_force_constants(read(vasp_reference["unitcell"]), supercell, tmp_path / "FORCE_CONSTANTS")


def test_bad_vasprun_and_element(vasp_reference, tmp_path):
    text = vasp_reference["vasprun"].read_text()
    truncated = tmp_path / "vasprun.xml"
    truncated.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="cannot read energies and forces from .*vasprun.xml"):
        read_vasprun(truncated)
    with pytest.raises(ValueError, match="expected Ge only, found \\['Si'\\]"):
        read_vasprun(vasp_reference["vasprun"], element="Ge")
    with pytest.raises(ValueError, match="lists 1 displacements but 2 vasprun.xml"):
        reference_structures(vasp_reference["unitcell"], vasp_reference["displacements"],
                             [vasp_reference["vasprun"]] * 2)


def test_unit_cell_from_a_phonopy_supercell(dft_phonon):
    from ase import Atoms

    from ffdiff.data.phonopy import unitcell_from_supercell

    cell = dft_phonon.supercell
    supercell = Atoms(symbols=cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)
    unitcell = unitcell_from_supercell(supercell, [2, 2, 2])
    np.testing.assert_allclose(unitcell.cell.array, dft_phonon.unitcell.cell, atol=1e-12)
    np.testing.assert_allclose(unitcell.get_scaled_positions(), dft_phonon.unitcell.scaled_positions, atol=1e-9)
    with pytest.raises(ValueError, match="a 63-atom supercell .* should hold 8 images of each unit-cell atom; found 8 distinct"):
        unitcell_from_supercell(supercell[1:], [2, 2, 2])


def test_force_constants_saved_compact_when_lossless(dft_phonon, tmp_path):
    """phonopy's own force constants are stored as the primitive cell's rows; a matrix the
    lattice translations do not rebuild stays full. Both read back to the file's 15 decimals."""
    from ffdiff.data.phonopy import load_phonopy, save_phonopy

    full = dft_phonon.force_constants.copy()
    save_phonopy(dft_phonon, tmp_path / "compact.yaml")
    assert "format: \"compact\"" in (tmp_path / "compact.yaml").read_text()
    np.testing.assert_allclose(load_phonopy(tmp_path / "compact.yaml").force_constants, full, rtol=0, atol=1e-13)
    assert np.array_equal(dft_phonon.force_constants, full)  # the caller's object is untouched
    perturbed = full.copy()
    perturbed[5, 7, 0, 1] += 1e-3  # breaks the translational symmetry
    dft_phonon.force_constants = perturbed
    try:
        save_phonopy(dft_phonon, tmp_path / "full.yaml")
    finally:
        dft_phonon.force_constants = full
    assert "format: \"full\"" in (tmp_path / "full.yaml").read_text()
    np.testing.assert_allclose(load_phonopy(tmp_path / "full.yaml").force_constants, perturbed, rtol=0, atol=1e-13)
