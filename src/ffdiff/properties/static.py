"""Energy, forces and stress of one configuration by automatic differentiation.

Stress is the strain derivative σ = (1/V) ∂E/∂ε at ε = 0 with positions and cell deformed
together by (1 + ε), ε symmetric: ASE's sign and unit convention (eV/Å³; positive = tensile,
Voigt order xx, yy, zz, yz, xz, xy).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ffdiff.neighbors import NeighborList
from ffdiff.typing import Array, EnergyFn, Params

VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def strained_energy(energy_fn: EnergyFn):
    """``E(strain, params, position, box, neighbors)`` with the configuration deformed by 1 + ε."""

    def fn(strain: Array, params: Params, position: Array, box: Array, neighbors: NeighborList):
        sym = 0.5 * (strain + strain.T)
        deform = jnp.eye(3, dtype=position.dtype) + sym
        return energy_fn(params, position @ deform, box @ deform, neighbors)

    return fn


def to_voigt(tensor: Array) -> Array:
    """`[..., 3, 3]` symmetric tensor -> `[..., 6]` (xx, yy, zz, yz, xz, xy)."""
    return jnp.stack([tensor[..., i, j] for i, j in VOIGT_PAIRS], axis=-1)


def stress(energy_fn: EnergyFn, params: Params, position: Array, box: Array, neighbors) -> Array:
    """`[3, 3]` stress in eV/Å³ (ASE convention)."""
    zero = jnp.zeros((3, 3), dtype=position.dtype)
    d_e = jax.grad(strained_energy(energy_fn))(zero, params, position, box, neighbors)
    return d_e / jnp.abs(jnp.linalg.det(box))


def forces(energy_fn: EnergyFn, params: Params, position: Array, box: Array, neighbors) -> Array:
    """`[n_atoms, 3]` forces −∂E/∂r in eV/Å."""
    return -jax.grad(energy_fn, argnums=1)(params, position, box, neighbors)


def energy_forces_stress(energy_fn: EnergyFn, params: Params, position: Array, box: Array, neighbors):
    """(energy in eV, `[n_atoms, 3]` forces in eV/Å, `[3, 3]` stress in eV/Å³) in one pass.

    Differentiates once with respect to positions and strain together, so the energy is computed
    a single time.
    """
    zero = jnp.zeros((3, 3), dtype=position.dtype)

    def total(pos, strain):
        return strained_energy(energy_fn)(strain, params, pos, box, neighbors)

    e, (d_pos, d_strain) = jax.value_and_grad(total, argnums=(0, 1))(position, zero)
    return e, -d_pos, d_strain / jnp.abs(jnp.linalg.det(box))
