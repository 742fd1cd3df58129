"""JAX phonon frequencies at commensurate q-points against phonopy."""

import numpy as np

from ffdiff.properties.dynamical import phonon_cell, squared_frequencies
from ffdiff.properties.phonons import HIGH_SYMMETRY, frequencies_at


def test_frequencies_are_phonopys_at_gamma_x_l(dft_phonon):
    """The DFT force constants' frequencies at Γ, X, L (commensurate with the 2×2×2 cubic supercell)
    to 1e-6 THz; the acoustic modes at Γ (about 5e-3 THz, from the unsymmetrised sum rule) too."""
    cell = phonon_cell(dft_phonon)
    fc = np.asarray(dft_phonon.force_constants)
    nu2 = np.asarray(squared_frequencies(fc[cell.atoms], cell, list(HIGH_SYMMETRY.values())))
    nu = np.sign(nu2) * np.sqrt(np.abs(nu2))
    expected = np.array(list(frequencies_at(dft_phonon).values()))
    np.testing.assert_allclose(nu, expected, atol=1e-6)
    assert abs(nu[0, -1] - 15.0987) < 1e-3  # THz, VASP PBE optical mode at Γ
