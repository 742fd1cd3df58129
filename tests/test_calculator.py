"""The ASE calculator: elastic constants by finite differences of its energies (no AD in the test)."""

import pytest
from ase.build import bulk
from ase.optimize import BFGS

from ffdiff import Calculator
from ffdiff.exceptions import StructureError
from ffdiff.properties.elastic import finite_difference_constants


def _energy(calc):
    def energy(atoms, relax):
        atoms.calc = calc
        if relax:  # internal (sublattice) relaxation at fixed cell: the relaxed C44
            BFGS(atoms, logfile=None).run(fmax=1e-9, steps=500)
        return atoms.get_potential_energy()

    return energy


# (potential, a in Å, C11, C12, relaxed C44 in GPa): the originals' published constants, in the
# standard convention (the paper's tables print 2·C44).
CASES = [("sw", 5.431, 151.413, 76.415, 56.446), ("edip", 5.430, 172.039, 64.675, 72.784)]


@pytest.mark.parametrize(("name", "a", "c11", "c12", "c44"), CASES)
def test_elastic_constants(name, a, c11, c12, c44):
    moduli = finite_difference_constants(_energy(Calculator(name)), bulk("Si", "diamond", a=a, cubic=True))
    assert moduli["C11"] == pytest.approx(c11, abs=0.01)
    assert moduli["C12"] == pytest.approx(c12, abs=0.01)
    assert moduli["C44"] == pytest.approx(c44, abs=0.01)


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
