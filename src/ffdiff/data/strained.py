"""Elastic constants from a set of strained VASP runs: stress–strain fit through pymatgen."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ffdiff.finite import require_finite

KBAR_TO_GPA = 0.1
# Lattice vectors in vasprun.xml carry 8 decimals, so a strain read back from them is noisy at
# ~1e-9; components below this are taken as exactly zero when sorting runs into strain states.
STRAIN_TOLERANCE = 1e-6


def _lattice_and_stress(path) -> tuple[np.ndarray, np.ndarray]:
    """Final lattice `[3, 3]` (Å, rows) and stress `[3, 3]` in GPa, positive in tension."""
    from pymatgen.io.vasp import Vasprun

    try:
        with warnings.catch_warnings():  # pymatgen warns about POTCARs and unconverged electronic steps
            warnings.simplefilter("ignore")
            run = Vasprun(str(path), parse_dos=False, parse_eigen=False, parse_projected_eigen=False,
                          parse_potcar_file=False)
        stress = run.ionic_steps[-1]["stress"]
    except Exception as err:  # pymatgen raises many types on malformed XML
        raise ValueError(f"cannot read the final stress of {path}: {err}") from err
    lattice, stress = np.asarray(run.final_structure.lattice.matrix), np.asarray(stress, dtype=float)
    require_finite(lattice, "lattice vectors", str(path))
    require_finite(stress, "stress", str(path))
    # VASP reports stress in kBar with pressure positive (compression); physics sign is the opposite.
    return lattice, -KBAR_TO_GPA * stress


def elastic_from_strained_runs(equilibrium, strained: Sequence) -> np.ndarray:
    """`[6, 6]` stiffness in GPa (Voigt, standard convention) from VASP runs of strained cells.

    Each run's strain is the Green–Lagrange strain of its cell relative to the equilibrium run's;
    the stiffness is pymatgen's least-squares fit per independent strain state, with the equilibrium
    stress as the zero-strain point. Runs with ions relaxed (ISIF = 2) give relaxed constants; with
    ions fixed, clamped-ion ones. pymatgen's ``DeformedStructureSet`` makes such a set (6 states ×
    4 strains).

    Raises:
        ValueError: an unreadable run, one with non-finite stress or cell, or strain states missing for
            some of the 6 Voigt components.
    """
    from pymatgen.analysis.elasticity import ElasticTensor
    from pymatgen.analysis.elasticity.strain import Deformation, Strain
    from pymatgen.analysis.elasticity.stress import Stress

    lattice0, stress0 = _lattice_and_stress(equilibrium)
    strains, stresses = [], []
    for path in strained:
        lattice, stress = _lattice_and_stress(path)
        deformation = Deformation(np.linalg.solve(lattice0, lattice).T)  # rows: L = L0 @ F.T
        strains.append(Strain(deformation.green_lagrange_strain).zeroed(STRAIN_TOLERANCE))
        stresses.append(Stress(stress))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tensor = ElasticTensor.from_independent_strains(strains, stresses, eq_stress=Stress(stress0))
    except ValueError as err:
        names = ", ".join(Path(p).name for p in strained)
        raise ValueError(f"strained runs ({names}) do not span the six strain states: {err}") from err
    return np.asarray(tensor.voigt)
