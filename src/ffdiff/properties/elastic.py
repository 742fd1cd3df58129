"""Elastic constants of a crystal at 0 K by automatic differentiation.

With the linear strain ε (positions and cell deformed by 1 + ε) and the atoms allowed to relax
by u, the relaxed constants are

.. math::
    C = \\frac{1}{V}\\left(E_{\\epsilon\\epsilon} - E_{\\epsilon u} E_{uu}^{-1} E_{u\\epsilon}\\right),

the Born term minus the internal-relaxation term. Atom 0 is held fixed (u_0 = 0) to remove the
three translations, which makes E_uu invertible without a pseudo-inverse (whose gradient is NaN
at the degenerate eigenvalues of a symmetric crystal). The structure must be at an energy
minimum with respect to atomic positions; the cell is fixed (no pre-stress correction).

References:
    J. F. Lutsko, J. Appl. Phys. 65, 2991 (1989), doi:10.1063/1.342716
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.neighbors import NeighborList
from ffdiff.typing import Array, EnergyFn, Params
from ffdiff.units import EV_PER_A3_TO_GPA


def voigt_strain(e: Array) -> Array:
    """`[6]` Voigt strain (engineering shears) -> `[3, 3]` symmetric tensor."""
    half = 0.5 * e
    return jnp.array([[e[0], half[5], half[4]], [half[5], e[1], half[3]], [half[4], half[3], e[2]]])


def _energy_of(energy_fn: EnergyFn, params: Params, position: Array, box: Array, neighbors: NeighborList):
    n = position.shape[0]

    def fn(e: Array, u: Array) -> Array:
        deform = jnp.eye(3, dtype=position.dtype) + voigt_strain(e)
        shifted = (position @ deform).at[1:].add(u.reshape(n - 1, 3))
        return energy_fn(params, shifted, box @ deform, neighbors)

    return fn


def elastic_constants(energy_fn: EnergyFn, params: Params, position: Array, box: Array,
                      neighbors: NeighborList) -> dict[str, Array]:
    """Born, relaxation and relaxed `[6, 6]` Voigt matrices in GPa (standard convention).

    Args:
        energy_fn: see :class:`ffdiff.typing.EnergyFn`.
        params: parameter pytree; gradients flow to every leaf.
        position: `[n_atoms, 3]` equilibrium positions in Å.
        box: `[3, 3]` cell in Å.
        neighbors: list built with enough skin for the small strains (any skin ≥ 0 is exact at ε = 0).

    Returns:
        ``{"born", "relaxation", "relaxed"}``, each `[6, 6]` in GPa; relaxed = born − relaxation.
    """
    n = position.shape[0]
    fn = _energy_of(energy_fn, params, position, box, neighbors)
    e0 = jnp.zeros(6, dtype=position.dtype)
    u0 = jnp.zeros(3 * (n - 1), dtype=position.dtype)
    (h_ee, h_eu), (_, h_uu) = jax.hessian(fn, argnums=(0, 1))(e0, u0)
    scale = EV_PER_A3_TO_GPA / jnp.abs(jnp.linalg.det(box))
    born = scale * h_ee
    if n > 1:
        relaxation = scale * h_eu @ jnp.linalg.solve(h_uu, h_eu.T)
    else:
        relaxation = jnp.zeros_like(born)
    return {"born": born, "relaxation": relaxation, "relaxed": born - relaxation}


def bulk_modulus(c: Array) -> Array:
    """Voigt average bulk modulus of a `[6, 6]` stiffness matrix (same units)."""
    return (jnp.trace(c[:3, :3]) + 2.0 * (c[0, 1] + c[0, 2] + c[1, 2])) / 9.0


_PAPER_SCALE = np.ones((6, 6))
_PAPER_SCALE[3:, 3:] = 2.0
_PAPER_SCALE.flags.writeable = False


def paper_convention(c: Array) -> Array:
    """The convention of Gangan et al.'s tables: shear block (rows/columns 4–6) doubled (an elementwise
    scale: numpy and JAX arrays alike, no program compiled for numpy ones)."""
    return c * _PAPER_SCALE.astype(c.dtype)


def finite_difference_constants(energy, atoms, step: float = 1e-3) -> dict[str, float]:
    """C11, C12, C44⁰ and relaxed C44 (GPa) of a cubic crystal from an energy oracle, for
    cross-checks independent of automatic differentiation.

    C_pq = (1/V) ∂²E/∂ε_p∂ε_q by central differences in the linear strain (engineering shears),
    matching :func:`elastic_constants`.

    Args:
        energy: ``energy(atoms, relax) -> eV``; with ``relax`` the atoms are relaxed at fixed cell.
        atoms: the unstrained cubic cell (ASE ``Atoms``).
        step: strain step; the truncation error is O(step²).
    """

    def strained(e: np.ndarray, relax: bool) -> float:
        trial = atoms.copy()
        trial.set_cell(atoms.cell.array @ (np.eye(3) + np.asarray(voigt_strain(e))), scale_atoms=True)
        return energy(trial, relax)

    def modulus(p: int, q: int, relax: bool = False) -> float:
        unit = np.eye(6)
        total = 0.0
        for sp in (1, -1):
            for sq in (1, -1):
                total += sp * sq * strained(step * (sp * unit[p] + sq * unit[q]), relax)
        return total / (4 * step**2) / atoms.get_volume() * EV_PER_A3_TO_GPA

    return {"C11": modulus(0, 0), "C12": modulus(0, 1), "C44_0": modulus(3, 3), "C44": modulus(3, 3, True)}
