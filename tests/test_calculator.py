"""The ASE calculator: elastic constants by finite differences of stress (no AD in the test)."""

import numpy as np
import pytest
from ase.build import bulk
from ase.optimize import BFGS

from ffdiff import Calculator
from ffdiff.exceptions import StructureError
from ffdiff.units import EV_PER_A3_TO_GPA

STEP = 1e-3  # strain step; the O(STEP²) truncation error is ~2e-4 GPa here


def _energy(calc, a, strain, relax=False):
    atoms = bulk("Si", "diamond", a=a, cubic=True)
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    atoms.calc = calc
    if relax:  # internal (sublattice) relaxation at fixed cell: the relaxed C44
        BFGS(atoms, logfile=None).run(fmax=1e-9, steps=500)
    return atoms.get_potential_energy()


def _strain(voigt: int, amount: float) -> np.ndarray:
    """Symmetric strain tensor for a Voigt component (engineering shear for 3-5)."""
    i, j = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)][voigt]
    e = np.zeros((3, 3))
    e[i, j] = e[j, i] = amount / (2 if i != j else 1)
    return e


def _modulus(calc, a, p, q, relax=False):
    """C_pq = (1/V) ∂²E/∂ε_p∂ε_q in GPa by central second differences of the energy."""
    total = sum(
        sp * sq * _energy(calc, a, _strain(p, sp * STEP) + _strain(q, sq * STEP), relax)
        for sp in (1, -1) for sq in (1, -1)
    )
    return total / (4 * STEP**2) / a**3 * EV_PER_A3_TO_GPA


# (potential, a in Å, C11, C12, relaxed C44 in GPa): the originals' published constants, in the
# standard convention (the paper's tables print 2·C44).
CASES = [("sw", 5.431, 151.413, 76.415, 56.446), ("edip", 5.430, 172.039, 64.675, 72.784)]


@pytest.mark.parametrize(("name", "a", "c11", "c12", "c44"), CASES)
def test_elastic_constants(name, a, c11, c12, c44):
    calc = Calculator(name)
    assert _modulus(calc, a, 0, 0) == pytest.approx(c11, abs=0.01)
    assert _modulus(calc, a, 0, 1) == pytest.approx(c12, abs=0.01)
    assert _modulus(calc, a, 3, 3, relax=True) == pytest.approx(c44, abs=0.01)


def test_properties_and_errors():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.calc = Calculator("sw")
    assert atoms.get_potential_energy() == atoms.get_potential_energy(force_consistent=True)
    assert atoms.get_stress().shape == (6,)
    atoms[0].symbol = "Ge"
    with pytest.raises(StructureError, match=r"Si only; structure has \['Ge', 'Si'\]"):
        atoms.get_potential_energy()
    with pytest.raises(ValueError, match="unknown potential 'tersoff'"):
        Calculator("tersoff")
