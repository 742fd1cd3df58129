"""phonopy data are read from the files named only: a stray BORN, FORCE_SETS or FORCE_CONSTANTS in
the working directory (which phonopy.load would pick up) changes nothing."""

import numpy as np

from ffdiff.data.phonopy import load_phonopy, read_displacements, save_phonopy


def test_stray_files_are_not_read(dft_phonon, tmp_path, monkeypatch):
    save_phonopy(dft_phonon, tmp_path / "phonopy_params.yaml")
    dft_phonon.save(tmp_path / "phonopy_disp.yaml", settings={"force_sets": False, "force_constants": False})
    monkeypatch.chdir(tmp_path)
    clean = load_phonopy(tmp_path / "phonopy_params.yaml").force_constants
    supercell, dataset = read_displacements(tmp_path / "phonopy_disp.yaml")
    stray = tmp_path / "cwd"
    stray.mkdir()
    for name in ("BORN", "FORCE_SETS", "FORCE_CONSTANTS"):
        (stray / name).write_text("garbage 1 2\nnot phonopy\n")
    monkeypatch.chdir(stray)
    loaded = load_phonopy(tmp_path / "phonopy_params.yaml")
    np.testing.assert_array_equal(loaded.force_constants, clean)
    np.testing.assert_allclose(clean, dft_phonon.force_constants, atol=1e-12)
    assert loaded.nac_params is None
    again, dataset_again = read_displacements(tmp_path / "phonopy_disp.yaml")
    assert again == supercell and len(dataset) == len(dataset_again) == len(dft_phonon.dataset["first_atoms"])
