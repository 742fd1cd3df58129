"""Differentiable molecular dynamics integrators: velocity Verlet (NVE) and Nosé–Hoover chains (NVT),
pure JAX functions of one state.

Units are LAMMPS metal units: positions in Å, velocities in Å/fs, forces in eV/Å, masses in amu,
time steps and thermostat periods in fs, temperatures in K. Trajectories and the long-run driver are
in :mod:`ffdiff.md.driver`.

References:
    G. J. Martyna, M. L. Klein and M. Tuckerman, J. Chem. Phys. 97, 2635 (1992), doi:10.1063/1.463940
    G. J. Martyna, M. E. Tuckerman, D. J. Tobias and M. L. Klein, Mol. Phys. 87, 1117 (1996),
    doi:10.1080/00268979600100761
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from ase import units

from ffdiff.neighbors import NeighborList
from ffdiff.neighbors import refresh as refresh_list
from ffdiff.typing import Array, EnergyFn, Params
from ffdiff.units import SI_MASS_AMU

MVV2E = 1.0 / units.fs**2
"""amu·Å²/fs² in eV (≈ 103.643): kinetic energy and force-to-acceleration factor."""

KB = units.kB
"""Boltzmann constant in eV/K."""

# Suzuki–Yoshida weights (fourth order for 3 terms), as used by OpenMM and jax-md.
_SUZUKI_YOSHIDA = {
    1: (1.0,),
    3: (0.828981543588751, -0.657963087177502, 0.828981543588751),
    5: (0.2967324292201065, 0.2967324292201065, -0.186929716880426, 0.2967324292201065,
        0.2967324292201065),
}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class MDState:
    """Dynamical state of one system.

    Attributes:
        position: `[n_atoms, 3]` unwrapped positions in Å.
        velocity: `[n_atoms, 3]` velocities in Å/fs.
        force: `[n_atoms, 3]` forces in eV/Å at ``position``.
        mass: `[n_atoms]` masses in amu.
        potential_energy: scalar potential energy in eV at ``position``.
        chain_position: `[chain_length]` Nosé–Hoover chain coordinates ξ (dimensionless).
        chain_velocity: `[chain_length]` chain velocities dξ/dt in 1/fs (zero and unused in NVE).
    """

    position: Array
    velocity: Array
    force: Array
    mass: Array
    potential_energy: Array
    chain_position: Array
    chain_velocity: Array

    def replace(self, **changes) -> MDState:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)


def degrees_of_freedom(n_atoms: int) -> int:
    """3N − 3: the centre-of-mass momentum is removed at start and conserved by both integrators."""
    return max(3 * n_atoms - 3, 1)


def kinetic_energy(velocity: Array, mass: Array) -> Array:
    """Kinetic energy in eV of `[n_atoms, 3]` velocities (Å/fs) and `[n_atoms]` masses (amu)."""
    return 0.5 * MVV2E * jnp.sum(mass[:, None] * velocity**2)


def temperature(state: MDState) -> Array:
    """Instantaneous temperature in K with 3N − 3 degrees of freedom."""
    dof = degrees_of_freedom(state.position.shape[0])
    return 2.0 * kinetic_energy(state.velocity, state.mass) / (dof * KB)


@functools.partial(jax.jit, static_argnums=0)  # eager callers (init_state) would dispatch op by op
def _energy_force(energy_fn: EnergyFn, params: Params, position: Array, box: Array, neighbors):
    e, grad = jax.value_and_grad(energy_fn, argnums=1)(params, position, box, neighbors)
    return e.astype(position.dtype), -grad  # keep the scan carry's dtype when positions are float32


def init_state(
    energy_fn: EnergyFn,
    params: Params,
    position: Array,
    box: Array,
    neighbors: NeighborList,
    *,
    mass: float | Array = SI_MASS_AMU,
    temperature_K: float,
    key: Array,
    chain_length: int = 3,
) -> MDState:
    """Maxwell–Boltzmann velocities without centre-of-mass motion, rescaled to exactly ``temperature_K``.

    Args:
        energy_fn: potential energy function (:class:`ffdiff.typing.EnergyFn`).
        params: its parameter pytree.
        position: `[n_atoms, 3]` positions in Å; their dtype sets the state's dtype.
        box: `[3, 3]` cell, lattice vectors as rows, in Å.
        neighbors: neighbour list built for ``position``.
        mass: amu, a scalar or `[n_atoms]`.
        temperature_K: initial temperature in K (3N − 3 degrees of freedom).
        key: ``jax.random`` key for the velocities.
        chain_length: number of Nosé–Hoover thermostats in the chain (used by NVT only).

    Returns:
        The state, with forces and potential energy evaluated at ``position``.
    """
    position = jnp.asarray(position)
    if not jnp.issubdtype(position.dtype, jnp.floating):
        position = position.astype(jnp.float64)
    return _init_state(energy_fn, params, position, jnp.asarray(box, position.dtype), neighbors, mass,
                       temperature_K, key, chain_length=chain_length)


@functools.partial(jax.jit, static_argnames=("energy_fn", "chain_length"))  # one program, not one per operation
def _init_state(energy_fn, params, position, box, neighbors, mass, temperature_K, key, *, chain_length):
    dtype, n = position.dtype, position.shape[0]
    mass = jnp.broadcast_to(jnp.asarray(mass, dtype), (n,))
    # drawn at the default precision whatever the run's: a float32 run starts as its float64 twin
    velocity = jax.random.normal(key, (n, 3), jnp.result_type(float)).astype(dtype)
    velocity = velocity * jnp.sqrt(KB * temperature_K / (MVV2E * mass))[:, None]
    velocity = velocity - jnp.sum(mass[:, None] * velocity, axis=0) / jnp.sum(mass)
    current = 2.0 * kinetic_energy(velocity, mass) / (degrees_of_freedom(n) * KB)
    velocity = velocity * jnp.where(current > 0, jnp.sqrt(temperature_K / jnp.where(current > 0, current, 1.0)), 0.0)
    e, f = _energy_force(energy_fn, params, position, box, neighbors)
    zeros = jnp.zeros(chain_length, dtype)
    return MDState(position, velocity.astype(dtype), f, mass, e, zeros, zeros)


def nve_step(energy_fn: EnergyFn, params: Params, state: MDState, box: Array, neighbors,
             timestep_fs) -> MDState:
    """One velocity-Verlet step of ``timestep_fs`` fs, the same update as LAMMPS ``fix nve``."""
    return _verlet(energy_fn, params, state, box, neighbors, timestep_fs, refresh=False)[0]


def _verlet(energy_fn, params, state: MDState, box, neighbors, timestep_fs, *, refresh: bool):
    """Velocity Verlet; with ``refresh`` the list is renewed inside ``jit`` where the drifted positions
    need it, before the forces (:func:`ffdiff.neighbors.refresh`).

    Returns:
        (state, list, whether the list was rebuilt, whether that rebuild overflowed).
    """
    half_kick = 0.5 * timestep_fs / (MVV2E * state.mass[:, None])
    velocity = state.velocity + half_kick * state.force
    position = state.position + timestep_fs * velocity
    rebuilt = overflow = jnp.zeros((), bool)
    if refresh:
        neighbors, rebuilt, overflow = refresh_list(neighbors, position, box)
    e, f = _energy_force(energy_fn, params, position, box, neighbors)
    state = state.replace(position=position, velocity=velocity + half_kick * f, force=f, potential_energy=e)
    return state, neighbors, rebuilt, overflow


def chain_masses(n_atoms: int, chain_length: int, temperature_K, tdamp_fs, dtype) -> Array:
    """`[chain_length]` thermostat masses Q in eV·fs²: N_f k T τ² for the first, k T τ² for the rest."""
    q = KB * temperature_K * tdamp_fs**2 * jnp.ones(chain_length, dtype)
    return q.at[0].multiply(degrees_of_freedom(n_atoms))


def _chain_half_step(state: MDState, kt, q, timestep_fs, chain_steps: int, sy_order: int) -> MDState:
    """exp(iL_NHC Δt/2): Trotter-split chain update with Suzuki–Yoshida sub-steps (Martyna 1996)."""
    dof = degrees_of_freedom(state.position.shape[0])
    v_xi, xi = state.chain_velocity, state.chain_position
    m = v_xi.shape[0]
    two_ke = 2.0 * kinetic_energy(state.velocity, state.mass)
    scale = jnp.ones((), state.velocity.dtype)

    def force(j, v_xi, two_ke):  # G_j in eV
        return two_ke - dof * kt if j == 0 else q[j - 1] * v_xi[j - 1] ** 2 - kt

    def kick(j, v_xi, two_ke, d):  # v_j += (d/2) G_j / Q_j, damped by the next link
        if j == m - 1:
            return v_xi.at[j].add(0.5 * d * force(j, v_xi, two_ke) / q[j])
        s = jnp.exp(-0.25 * d * v_xi[j + 1])
        return v_xi.at[j].set(s * (s * v_xi[j] + 0.5 * d * force(j, v_xi, two_ke) / q[j]))

    for _ in range(chain_steps):
        for w in _SUZUKI_YOSHIDA[sy_order]:
            d = w * timestep_fs / (2 * chain_steps)  # this sub-step's share of the half step
            for j in reversed(range(m)):
                v_xi = kick(j, v_xi, two_ke, d)
            s = jnp.exp(-d * v_xi[0])
            scale, two_ke = scale * s, two_ke * s**2
            xi = xi + d * v_xi
            for j in range(m):
                v_xi = kick(j, v_xi, two_ke, d)
    return state.replace(velocity=state.velocity * scale, chain_position=xi, chain_velocity=v_xi)


def nvt_step(energy_fn: EnergyFn, params: Params, state: MDState, box: Array, neighbors, timestep_fs, *,
             temperature_K, tdamp_fs, chain_steps: int = 2, sy_order: int = 3) -> MDState:
    """One Nosé–Hoover chain step: chain half step, velocity Verlet, chain half step.

    Args:
        timestep_fs: time step in fs.
        temperature_K: target temperature in K.
        tdamp_fs: thermostat period in fs.
        chain_steps: outer sub-steps n_c of the chain update.
        sy_order: Suzuki–Yoshida order (1, 3 or 5).
    """
    return _nose_hoover(energy_fn, params, state, box, neighbors, timestep_fs, temperature_K, tdamp_fs,
                        chain_steps, sy_order, refresh=False)[0]


def _nose_hoover(energy_fn, params, state, box, neighbors, timestep_fs, temperature_K, tdamp_fs, chain_steps=2,
                 sy_order=3, *, refresh: bool):
    """:func:`nvt_step`, returning what :func:`_verlet` does."""
    kt = KB * temperature_K
    q = chain_masses(state.position.shape[0], state.chain_velocity.shape[0], temperature_K, tdamp_fs,
                     state.velocity.dtype)
    state = _chain_half_step(state, kt, q, timestep_fs, chain_steps, sy_order)
    state, *rest = _verlet(energy_fn, params, state, box, neighbors, timestep_fs, refresh=refresh)
    return _chain_half_step(state, kt, q, timestep_fs, chain_steps, sy_order), *rest


def conserved_energy(state: MDState, *, temperature_K=None, tdamp_fs=None) -> Array:
    """Total energy (NVE, ``temperature_K=None``) or the Nosé–Hoover chain invariant (NVT: target
    ``temperature_K`` in K, thermostat time constant ``tdamp_fs`` in fs), in eV.

    H = U + K + Σ_j Q_j v_ξj² / 2 + N_f k T ξ_0 + k T Σ_{j>0} ξ_j.
    """
    total = state.potential_energy + kinetic_energy(state.velocity, state.mass)
    if temperature_K is None:
        return total
    if tdamp_fs is None:
        raise ValueError("the NVT invariant needs tdamp_fs (fs), got None")
    n = state.position.shape[0]
    q = chain_masses(n, state.chain_velocity.shape[0], temperature_K, tdamp_fs, state.velocity.dtype)
    kt = KB * temperature_K
    xi = state.chain_position
    return (total + 0.5 * jnp.sum(q * state.chain_velocity**2) + degrees_of_freedom(n) * kt * xi[0]
            + kt * jnp.sum(xi[1:]))


def advance(energy_fn: EnergyFn, params: Params, state: MDState, box: Array, neighbors: NeighborList,
            timestep_fs, ensemble: str, temperature_K, tdamp_fs, *, refresh: bool = False):
    """One step of ``ensemble`` (``"nve"`` or ``"nvt"``; ``temperature_K`` and ``tdamp_fs`` are read by NVT
    only): (state, list, rebuilt, overflow) as :func:`_verlet` returns them."""
    if ensemble == "nve":
        return _verlet(energy_fn, params, state, box, neighbors, timestep_fs, refresh=refresh)
    return _nose_hoover(energy_fn, params, state, box, neighbors, timestep_fs, temperature_K, tdamp_fs,
                        refresh=refresh)
