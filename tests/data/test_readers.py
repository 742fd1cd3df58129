"""Reference readers: phonopy FORCE_SETS / FORCE_CONSTANTS, OUTCAR elastic moduli, bad input."""

import numpy as np
import pytest
from ase.io import read

from ffdiff.data.outcar import read_elastic_moduli
from ffdiff.data.phonopy import (
    phonopy_from_force_constants,
    phonopy_from_force_sets,
    read_displacements,
)
from ffdiff.data.reference import reference_structures
from ffdiff.data.vasp import read_vasprun

OUTCAR_BLOCK = """
 TOTAL ELASTIC MODULI (kBar)
 Direction    XX          YY          ZZ          XY          YZ          ZX
 --------------------------------------------------------------------------------
 XX        1532.1410    567.9690    567.9690      0.0000      0.0000      1.0000
 YY         567.9690   1532.1410    567.9690      0.0000      0.0000      0.0000
 ZZ         567.9690    567.9690   1532.1410      0.0000      0.0000      0.0000
 XY           0.0000      0.0000      0.0000    748.3265      0.0000      0.0000
 YZ           0.0000      0.0000      0.0000      0.0000    748.3265      0.0000
 ZX           1.0000      0.0000      0.0000      0.0000      0.0000    748.3265
 --------------------------------------------------------------------------------
"""


def test_outcar_elastic_moduli(tmp_path):
    path = tmp_path / "OUTCAR"
    path.write_text(" vasp.6.4.2\n ELASTIC MODULI (kBar)\n junk\n" + OUTCAR_BLOCK)
    c = read_elastic_moduli(path)
    assert [c[0, 0], c[0, 1], c[3, 3]] == pytest.approx([153.2141, 56.7969, 74.83265], abs=1e-12)
    assert c[0, 4] == pytest.approx(0.1) and c[4, 0] == pytest.approx(0.1)  # XX-ZX -> Voigt (xx, xz)
    assert np.count_nonzero(c) == 3 * 3 + 3 + 2
    path.write_text(" nothing here\n")
    with pytest.raises(ValueError, match="no 'TOTAL ELASTIC MODULI.*IBRION = 6"):
        read_elastic_moduli(path)
    path.write_text(OUTCAR_BLOCK.split("\n YZ")[0])
    with pytest.raises(ValueError, match="truncated \\(4 of 6 rows\\)"):
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
