"""Differentiable molecular dynamics: velocity Verlet (NVE) and Nosé–Hoover chains (NVT).

Units are LAMMPS metal units: positions in Å, velocities in Å/fs, forces in eV/Å, masses in amu,
time steps and thermostat periods in fs, temperatures in K.

A trajectory is one :func:`jax.lax.scan` (:func:`simulate`), so ``jax.grad`` of any function of the
observations reaches the potential parameters. The neighbour list is fixed during :func:`simulate`: it
stores explicit image shifts for the positions it was built for, so positions are never wrapped back
into the cell, and the caller must keep every atom within ``skin / 2`` of the list's reference
positions. :func:`run_md` is the driver for long runs: compiled chunks that rebuild the list inside
the compiled loop wherever it goes stale, check stability at every step, and return to the host only to
record frames or to allocate a larger list.

References:
    G. J. Martyna, M. L. Klein and M. Tuckerman, J. Chem. Phys. 97, 2635 (1992), doi:10.1063/1.463940
    G. J. Martyna, M. E. Tuckerman, D. J. Tobias and M. L. Klein, Mol. Phys. 87, 1117 (1996),
    doi:10.1080/00268979600100761
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from ase import units

from ffdiff.neighbors import (
    NeighborList,
    edge_vectors,
    grow_short,
    neighbor_list,
    short_overflow,
)
from ffdiff.neighbors import refresh as refresh_list
from ffdiff.potentials._masking import distance
from ffdiff.typing import Array, EnergyFn, Params
from ffdiff.units import SI_MASS_AMU

logger = logging.getLogger(__name__)

MVV2E = 1.0 / units.fs**2
"""amu·Å²/fs² in eV (≈ 103.643): kinetic energy and force-to-acceleration factor."""

KB = units.kB
"""Boltzmann constant in eV/K."""

PAIR_SHORT_MULTIPLIER = 1.1
"""Default head room of a pair model's short list in :func:`run_md` (pairs inside the cutoff at a build,
times this, rounded up to 32). A network's cost is its per-edge work, all of it on short-list slots, so
every spare slot costs as much as a pair: with 1.1 an MPGNN step costs about one evaluation on an
exact-cutoff list (``benchmarks/gnn_md.py``; 2000 K liquid: 1.0 at 64 and 216 atoms, against 2.1-2.3
with the whole 1 Å-skin list). The count fluctuates little: 649 ± 15 pairs (at most 1.05 times the
start) within 3.77 Å in a 64-atom EDIP liquid at 2000-2600 K over 3 ps, 460 ± 18 (at most 1.10 times a
thermalised start) in diamond at 900 K; a rarer excursion overflows, and the run re-allocates with the
same head room (one recompilation). A start far from its run's density of pairs (a perfect crystal
heated, a model whose atoms cluster) re-allocates a few times."""

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


def nve_step(energy_fn: EnergyFn, params: Params, state: MDState, box: Array, neighbors, dt) -> MDState:
    """One velocity-Verlet step of ``dt`` fs, the same update as LAMMPS ``fix nve``."""
    return _verlet(energy_fn, params, state, box, neighbors, dt, refresh=False)[0]


def _verlet(energy_fn, params, state: MDState, box, neighbors, dt, *, refresh: bool):
    """Velocity Verlet; with ``refresh`` the list is renewed inside ``jit`` where the drifted positions
    need it, before the forces (:func:`ffdiff.neighbors.refresh`).

    Returns:
        (state, list, whether the list was rebuilt, whether that rebuild overflowed).
    """
    half_kick = 0.5 * dt / (MVV2E * state.mass[:, None])
    velocity = state.velocity + half_kick * state.force
    position = state.position + dt * velocity
    rebuilt = overflow = jnp.zeros((), bool)
    if refresh:
        neighbors, rebuilt, overflow = refresh_list(neighbors, position, box)
    e, f = _energy_force(energy_fn, params, position, box, neighbors)
    state = state.replace(position=position, velocity=velocity + half_kick * f, force=f, potential_energy=e)
    return state, neighbors, rebuilt, overflow


def chain_masses(n_atoms: int, chain_length: int, temperature_K, tau, dtype) -> Array:
    """`[chain_length]` thermostat masses Q in eV·fs²: N_f k T τ² for the first, k T τ² for the rest."""
    q = KB * temperature_K * tau**2 * jnp.ones(chain_length, dtype)
    return q.at[0].multiply(degrees_of_freedom(n_atoms))


def _chain_half_step(state: MDState, kt, q, dt, chain_steps: int, sy_order: int) -> MDState:
    """exp(iL_NHC dt/2): Trotter-split chain update with Suzuki–Yoshida sub-steps (Martyna 1996)."""
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
            d = w * dt / (2 * chain_steps)  # this sub-step's share of the half step
            for j in reversed(range(m)):
                v_xi = kick(j, v_xi, two_ke, d)
            s = jnp.exp(-d * v_xi[0])
            scale, two_ke = scale * s, two_ke * s**2
            xi = xi + d * v_xi
            for j in range(m):
                v_xi = kick(j, v_xi, two_ke, d)
    return state.replace(velocity=state.velocity * scale, chain_position=xi, chain_velocity=v_xi)


def nvt_step(energy_fn: EnergyFn, params: Params, state: MDState, box: Array, neighbors, dt, *,
             temperature_K, tau, chain_steps: int = 2, sy_order: int = 3) -> MDState:
    """One Nosé–Hoover chain step: chain half step, velocity Verlet, chain half step.

    Args:
        dt: time step in fs.
        temperature_K: target temperature in K.
        tau: thermostat period in fs.
        chain_steps: outer sub-steps n_c of the chain update.
        sy_order: Suzuki–Yoshida order (1, 3 or 5).
    """
    return _nose_hoover(energy_fn, params, state, box, neighbors, dt, temperature_K, tau, chain_steps, sy_order,
                        refresh=False)[0]


def _nose_hoover(energy_fn, params, state, box, neighbors, dt, temperature_K, tau, chain_steps=2, sy_order=3, *,
                 refresh: bool):
    """:func:`nvt_step`, returning what :func:`_verlet` does."""
    kt = KB * temperature_K
    q = chain_masses(state.position.shape[0], state.chain_velocity.shape[0], temperature_K, tau,
                     state.velocity.dtype)
    state = _chain_half_step(state, kt, q, dt, chain_steps, sy_order)
    state, *rest = _verlet(energy_fn, params, state, box, neighbors, dt, refresh=refresh)
    return _chain_half_step(state, kt, q, dt, chain_steps, sy_order), *rest


def conserved_energy(state: MDState, *, temperature_K=None, tau=100.0) -> Array:
    """Total energy (NVE, ``temperature_K=None``) or the Nosé–Hoover chain invariant (NVT), in eV.

    H = U + K + Σ_j Q_j v_ξj² / 2 + N_f k T ξ_0 + k T Σ_{j>0} ξ_j.
    """
    total = state.potential_energy + kinetic_energy(state.velocity, state.mass)
    if temperature_K is None:
        return total
    n = state.position.shape[0]
    q = chain_masses(n, state.chain_velocity.shape[0], temperature_K, tau, state.velocity.dtype)
    kt = KB * temperature_K
    xi = state.chain_position
    return (total + 0.5 * jnp.sum(q * state.chain_velocity**2) + degrees_of_freedom(n) * kt * xi[0]
            + kt * jnp.sum(xi[1:]))


def _default_observe(state: MDState) -> Array:
    return state.position


def _advance(energy_fn, params, state, box, neighbors, dt, ensemble, temperature_K, tau, *, refresh=False):
    """One step of ``ensemble``: (state, list, rebuilt, overflow) as :func:`_verlet` returns them."""
    if ensemble == "nve":
        return _verlet(energy_fn, params, state, box, neighbors, dt, refresh=refresh)
    return _nose_hoover(energy_fn, params, state, box, neighbors, dt, temperature_K, tau, refresh=refresh)


def simulate(
    energy_fn: EnergyFn,
    params: Params,
    state: MDState,
    box: Array,
    neighbors: NeighborList,
    *,
    n_steps: int,
    dt,
    ensemble: Literal["nve", "nvt"] = "nve",
    temperature_K=None,
    tau=100.0,
    observe: Callable[[MDState], Any] | None = None,
    remat: bool = True,
) -> tuple[MDState, Any]:
    """Run ``n_steps`` steps as one ``lax.scan``, differentiable in ``params`` (and the initial state).

    Args:
        energy_fn: potential energy function.
        params: its parameter pytree.
        state: initial state (:func:`init_state`).
        box: `[3, 3]` cell in Å (fixed).
        neighbors: list valid for the whole run (atoms must stay within ``skin / 2``; nothing checks
            it here, see :func:`run_md`).
        n_steps: number of steps (static).
        dt: time step in fs.
        ensemble: ``"nve"`` (velocity Verlet) or ``"nvt"`` (Nosé–Hoover chain).
        temperature_K: NVT target temperature in K.
        tau: NVT thermostat period in fs.
        observe: ``observe(state) -> pytree`` recorded after every step; default the positions.
        remat: wrap the step in ``jax.checkpoint`` so reverse mode stores one state per step
            instead of every force evaluation's intermediates (costs one extra force pass backwards).

    Returns:
        (final state, observations stacked along a leading `[n_steps]` axis).

    Raises:
        ValueError: unknown ``ensemble``, or NVT without ``temperature_K``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ase.build import bulk
        >>> from ffdiff import get_potential, neighbor_list
        >>> pot = get_potential("sw"); params = pot.params()
        >>> atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        >>> box = jnp.asarray(atoms.cell.array)
        >>> nbrs = neighbor_list(atoms.positions, box, pot.cutoff(params), skin=1.0)
        >>> s0 = init_state(pot.energy, params, atoms.positions, box, nbrs, temperature_K=300.0,
        ...                 key=jax.random.PRNGKey(0))
        >>> s, pos = simulate(pot.energy, params, s0, box, nbrs, n_steps=5, dt=1.0)
        >>> pos.shape
        (5, 8, 3)
    """
    if ensemble not in ("nve", "nvt"):
        raise ValueError(f"expected ensemble 'nve' or 'nvt', got {ensemble!r}")
    if ensemble == "nvt" and temperature_K is None:
        raise ValueError("ensemble='nvt' needs temperature_K (K), got None")
    observe = observe or _default_observe

    def step(state, _):
        state = _advance(energy_fn, params, state, box, neighbors, dt, ensemble, temperature_K, tau)[0]
        return state, observe(state)

    if remat:
        step = jax.checkpoint(step)
    return jax.lax.scan(step, state, None, length=n_steps)


# ---------------------------------------------------------------------------------------------
# Host driver


def _min_distance(position: Array, box: Array, neighbors: NeighborList) -> Array:
    """Shortest listed pair distance in Å (inf without pairs); exact while the list is valid."""
    r = distance(edge_vectors(position, box, neighbors), neighbors.edge_mask)
    return jnp.min(jnp.where(neighbors.edge_mask, r, jnp.inf))


def _frame(state: MDState, thermostat_t, tau) -> dict[str, Array]:
    """What :func:`run_md` records of a step (``conserved`` is the NVT invariant, or the total energy)."""
    return {"position": state.position, "potential_energy": state.potential_energy,
            "temperature": temperature(state), "total_energy": conserved_energy(state),
            "conserved": conserved_energy(state, temperature_K=thermostat_t, tau=tau)}


@jax.jit
def _first_frame(state: MDState, box, neighbors, thermostat_t, tau) -> tuple[dict[str, Array], Array]:
    return _frame(state, thermostat_t, tau), _min_distance(state.position, box, neighbors)


# Why a chunk stopped before its last step: the first rejected step's list, rebuilt inside the chunk, did not
# fit its capacities; its short list overflowed; or it failed the stability checks.
_RUNNING, _REALLOCATE, _OVERFLOW, _BAD = range(4)


@functools.partial(jax.jit, static_argnames=("energy_fn", "length", "ensemble"))
def _chunk(energy_fn, params, state, box, neighbors, dt, temperature_K, tau, n_steps, min_distance, *, length,
           ensemble):
    """Up to ``n_steps`` (traced, ≤ ``length``) steps in one ``while_loop``, renewing the list inside the
    loop wherever it goes stale (:func:`ffdiff.neighbors.refresh`).

    The loop ends after ``n_steps`` steps or at the first step it rejects (see ``_REALLOCATE`` etc.):
    that step is discarded and the state returned is the last accepted one, so one compiled program
    serves every chunk of a run, whatever its length or where it stopped. (A ``scan`` over ``length``
    that skipped its remaining iterations with a ``cond`` cost 0.06-0.12 µs per atom-step more, SW and
    EDIP at 8000 atoms.)

    Returns:
        (last accepted state, list of the last step tried: valid for that state when the chunk ran to
        its end, else stale or incomplete and to be discarded, `[length]` observations of which the
        first ``accepted`` are the accepted steps', ``{"accepted", "reason", "rebuilds", ...}`` with the
        rejected step's diagnostics).
    """
    thermostat_t = temperature_K if ensemble == "nvt" else None

    def attempt(s, nbrs):
        new, nbrs, rebuilt, list_overflow = _advance(energy_fn, params, s, box, nbrs, dt, ensemble, thermostat_t, tau,
                                                     refresh=True)
        needed, short_over = short_overflow(nbrs, new.position, box)
        shortest = _min_distance(new.position, box, nbrs)
        bad = ~jnp.isfinite(new.potential_energy) | ~jnp.isfinite(conserved_energy(new)) \
            | ~(shortest >= min_distance)  # NaN distances count as bad
        reason = jnp.select([list_overflow, short_over, bad], [_REALLOCATE, _OVERFLOW, _BAD], _RUNNING)
        return new, nbrs, {"reason": reason, "rebuilt": rebuilt, "min_distance": shortest, "short_needed": needed,
                           "potential_energy": new.potential_energy}

    def running(carry):
        _, _, stop, _ = carry
        return (stop["reason"] == _RUNNING) & (stop["accepted"] < jnp.minimum(n_steps, length))

    def step(carry):
        s, nbrs, stop, obs = carry
        new, nbrs, check = attempt(s, nbrs)
        accept = check["reason"] == _RUNNING
        frame = _frame(new, thermostat_t, tau)
        obs = jax.tree.map(lambda buffer, x: buffer.at[stop["accepted"]].set(x), obs, frame)
        stop = {"reason": check["reason"], "accepted": stop["accepted"] + accept.astype(jnp.int32),
                "rebuilds": stop["rebuilds"] + (accept & check["rebuilt"]).astype(jnp.int32),
                "check": jax.tree.map(lambda a, b: jnp.where(accept, b, a), check, stop["check"])}
        return jax.tree.map(lambda a, b: jnp.where(accept, a, b), new, s), nbrs, stop, obs

    _, _, check0 = jax.eval_shape(attempt, state, neighbors)
    check0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), check0)  # reason 0 = _RUNNING
    stop0 = {"reason": check0["reason"], "accepted": jnp.int32(0), "rebuilds": jnp.int32(0), "check": check0}
    obs0 = jax.tree.map(lambda a: jnp.zeros((length, *a.shape), a.dtype),
                        jax.eval_shape(_frame, state, thermostat_t, tau))
    # A rejected step's list is carried out, unused: the host allocates a new one or the run ends.
    final, nbrs, stop, obs = jax.lax.while_loop(running, step, (state, neighbors, stop0, obs0))
    return final, nbrs, obs, {"accepted": stop["accepted"], "reason": stop["reason"], "rebuilds": stop["rebuilds"],
                              **{k: v for k, v in stop["check"].items() if k not in ("reason", "rebuilt")}}


def _record(frames: dict, obs: dict, done: int, keep: int, record_every: int) -> None:
    """Append the accepted steps ``done + 1 ... done + keep`` that fall on ``record_every``."""
    steps = done + 1 + np.arange(keep)
    pick = np.flatnonzero(steps % record_every == 0)
    if pick.size:
        frames["positions"].extend(np.asarray(obs["position"])[pick])
        frames["steps"].extend(steps[pick].tolist())
        for k in ("temperature", "potential_energy", "total_energy", "conserved"):
            frames[k].extend(np.asarray(obs[k])[pick].tolist())


def _build(position, box, cutoff: float, skin: float, triplets: bool, short_multiplier: float,
           at_least: NeighborList | None = None) -> NeighborList:
    """A fresh list that can be rebuilt inside ``jit``, with a short list where it pays (SW, EDIP and the
    GNNs compact the pairs inside their range into it at every evaluation); with ``at_least``, every
    capacity is at least that list's (so runs sized alike share one compiled program)."""
    nbrs = neighbor_list(np.asarray(position), np.asarray(box), cutoff, skin=skin, triplets=triplets,
                         short=True, short_multiplier=short_multiplier, grid=True)
    if at_least is not None:
        sizes = _largest([nbrs, at_least])
        nbrs = neighbor_list(np.asarray(position), np.asarray(box), cutoff, skin=skin, triplets=triplets,
                             capacity=sizes["capacity"], short=sizes["short"] or False,
                             short_triplets=sizes["short_triplets"], grid=sizes["grid"])
    # In the positions' dtype, as the lists rebuilt inside the run: float32 runs carry one list type.
    dtype = np.asarray(position).dtype
    return dataclasses.replace(nbrs, shift=jnp.asarray(nbrs.shift, dtype),
                               reference_position=jnp.asarray(nbrs.reference_position, dtype))


def _largest(lists: list[NeighborList]) -> dict:
    """The largest of each capacity of ``lists`` (lists of one cell and cutoff), as keywords of
    :func:`ffdiff.neighbors.neighbor_list`."""
    slots = max(n.short_slots for n in lists)
    grids = [n.grid for n in lists]
    grid = dataclasses.replace(grids[0], cell_capacity=max(g.cell_capacity for g in grids),
                               slots=max(g.slots for g in grids))
    return {"capacity": tuple(max(n.capacity[k] for n in lists) for k in range(2)),
            "short": max(n.short_capacity for n in lists),
            "short_triplets": (slots, max(n.short_triplets for n in lists)) if slots else None, "grid": grid}


def shared_list(starts, box, *, cutoff: float, skin: float = 1.0, three_body: bool = True,
                triplets: bool | None = None, short_multiplier: float | None = None) -> NeighborList:
    """A list whose capacities fit every one of ``starts`` (`[R, N, 3]` Å): pass it as ``size_like`` to
    :func:`run_md` for each of them and all R runs share one compiled program (one compilation, some
    seconds, instead of one per run whose list happens to be sized differently). Keywords as
    :func:`run_md`'s."""
    triplets = three_body if triplets is None else triplets
    short_multiplier = short_multiplier or (2.0 if three_body else PAIR_SHORT_MULTIPLIER)
    lists = [_build(x, box, cutoff, skin, triplets, short_multiplier) for x in np.asarray(starts)]
    sizes = _largest(lists)
    return neighbor_list(np.asarray(starts)[0], np.asarray(box), cutoff, skin=skin, triplets=triplets,
                         capacity=sizes["capacity"], short=sizes["short"] or False,
                         short_triplets=sizes["short_triplets"], grid=sizes["grid"])


def run_md(
    energy_fn: EnergyFn,
    params: Params,
    position,
    box,
    *,
    cutoff: float,
    skin: float = 1.0,
    n_steps: int,
    dt: float = 1.0,
    ensemble: Literal["nve", "nvt"],
    temperature_K: float,
    tau: float = 100.0,
    mass: float | Array = SI_MASS_AMU,
    seed: int,
    record_every: int = 10,
    chunk: int = 100,
    min_distance: float = 1.5,
    three_body: bool = True,
    triplets: bool | None = None,
    short_multiplier: float | None = None,
    size_like: NeighborList | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Long MD run in jitted chunks, with neighbour-list rebuilds and stability checks.

    The run advances in chunks of up to ``chunk`` steps, each a call of one compiled loop (the same
    program for every chunk of the run: its length and where it stops are traced values). The list
    is rebuilt inside the loop, by a cell-list search (:mod:`ffdiff.neighbors.cells`), at every step whose
    drifted positions are more than ``skin / 2`` from those it was built for, before that step's
    forces, so lists are rebuilt exactly when needed and no force sees a stale list. A chunk stops
    at the first step it would reject and keeps the state before it: a step whose rebuilt list did
    not fit its capacities, or whose short list (the pairs inside the cutoff, compacted at every
    evaluation by SW, EDIP and the GNNs, see :func:`ffdiff.neighbors.short_list`) overflowed, which
    makes the energy NaN, is re-run after the host allocated a larger list (one recompilation); the
    overflow test uses the list's ``cutoff - skin``, so ``cutoff`` must be the potential's range. An
    energy that ignores the short list stays exact (it sums the whole list).

    Stability is checked at every step: the run stops at the first step whose positions or
    energies are not finite or whose shortest pair (taken from the neighbour list, valid at
    every accepted step) is closer than ``min_distance``; that step is reported exactly, no
    bisection is needed. A step whose rebuilt list outgrows one built on the host a step before
    is reported as unstable too.

    Args:
        energy_fn: potential energy function.
        params: its parameter pytree.
        position: `[n_atoms, 3]` initial positions in Å (float64 unless float32 is passed).
        box: `[3, 3]` cell in Å.
        cutoff: interaction range in Å (e.g. ``potential.cutoff(params)``).
        skin: neighbour-list buffer in Å.
        n_steps: number of steps.
        dt: time step in fs.
        ensemble: ``"nve"`` or ``"nvt"``.
        temperature_K: initial (and NVT target) temperature in K.
        tau: NVT thermostat period in fs.
        mass: amu, scalar or `[n_atoms]`.
        seed: seed of the initial velocities.
        record_every: steps between recorded frames (frame 0 is the initial state).
        chunk: most steps per compiled call (between host checks and progress updates).
        min_distance: pairs closer than this (Å) mean the run has failed.
        three_body: whether the potential has three-body terms; it sets the default
            ``short_multiplier``.
        triplets: list triplets (EDIP reads them, SW does not: ``Potential.triplets``); default
            ``three_body``.
        short_multiplier: head room of the short list over the pairs inside ``cutoff``, at every
            build and every re-allocation after an overflow; default 2.0 with ``three_body`` (heat
            pulls diamond's second shell into SW's range: 4 neighbours at rest, ~6.3 at 300 K),
            else :data:`PAIR_SHORT_MULTIPLIER`.
        size_like: a list (:func:`shared_list`) whose capacities every list of this run has at least,
            so that runs from different starts reuse one compiled program.
        progress: show a ``tqdm`` bar on stderr.

    Returns:
        dict with ``positions`` `[n_frames, n_atoms, 3]` (Å, unwrapped), ``steps`` `[n_frames]`,
        ``box`` `[3, 3]`, ``temperature`` `[n_frames]` (K), ``potential_energy``, ``total_energy``
        and ``conserved`` `[n_frames]` (eV; ``conserved`` is the Nosé–Hoover invariant in NVT and the
        total energy in NVE), ``stable``, ``failed_step`` (int or None), ``n_steps_done``,
        ``n_rebuilds`` and ``short_capacity`` (short-list slots of the last list, 0 for none). Frames
        stop at the last recorded step before a failure.

    Raises:
        ValueError: bad ``ensemble``, ``record_every`` or ``chunk``, or ``min_distance`` not below
            the list radius.
    """
    from tqdm.auto import tqdm

    if ensemble not in ("nve", "nvt"):
        raise ValueError(f"expected ensemble 'nve' or 'nvt', got {ensemble!r}")
    if record_every < 1 or chunk < 1:
        raise ValueError(f"expected record_every >= 1 and chunk >= 1, got {record_every} and {chunk}")
    if not min_distance < cutoff + skin:
        raise ValueError(f"expected min_distance < cutoff + skin = {cutoff + skin} Å, got {min_distance}")
    position = jnp.asarray(position)
    dtype = position.dtype if position.dtype == jnp.float32 else jnp.float64
    position, box = position.astype(dtype), jnp.asarray(box, dtype)
    triplets = three_body if triplets is None else triplets
    if short_multiplier is None:
        short_multiplier = 2.0 if three_body else PAIR_SHORT_MULTIPLIER
    nbrs = _build(position, box, cutoff, skin, triplets, short_multiplier, size_like)
    state = init_state(energy_fn, params, position, box, nbrs, mass=mass, temperature_K=temperature_K,
                       key=jax.random.PRNGKey(seed))
    thermostat_t = temperature_K if ensemble == "nvt" else None
    frame, first = jax.tree.map(np.asarray, _first_frame(state, box, nbrs, thermostat_t, tau))
    frames = {"positions": [frame.pop("position")], "steps": [0], **{k: [float(v)] for k, v in frame.items()}}
    first = float(first)
    failed_step = None if (np.isfinite(frames["potential_energy"][0]) and first >= min_distance) else 0
    if failed_step == 0:
        logger.warning("initial configuration unusable: shortest pair %.3f Å (min_distance %.3f Å), "
                       "energy %s eV", first, min_distance, frames["potential_energy"][0])

    done, since_build, n_rebuilds = 0, 0, 0
    bar = tqdm(total=n_steps, disable=not progress, unit="step", mininterval=5.0, desc=f"MD {ensemble}")
    while failed_step is None and done < n_steps:
        state, carried, obs, stop = _chunk(energy_fn, params, state, box, nbrs, dt, temperature_K, tau,
                                           min(chunk, n_steps - done), min_distance, length=chunk, ensemble=ensemble)
        stop = {k: np.asarray(v) for k, v in stop.items()}
        keep, reason = int(stop["accepted"]), int(stop["reason"])
        _record(frames, obs, done, keep, record_every)
        done, since_build, n_rebuilds = done + keep, since_build + keep, n_rebuilds + int(stop["rebuilds"])
        bar.update(keep)
        if reason == _RUNNING:
            nbrs = carried
        elif reason == _REALLOCATE and since_build == 0:  # a fresh list's neighbourhood changed in one step
            failed_step = done + 1
            logger.warning("MD unstable at step %d: the neighbour list rebuilt there needs more than 1.25 times the "
                           "room of one built a step earlier", failed_step)
        elif reason == _REALLOCATE:
            nbrs, since_build, n_rebuilds = _build(state.position, box, cutoff, skin, triplets, short_multiplier,
                                                   size_like), 0, n_rebuilds + 1
            logger.info("neighbour list outgrew its capacity at step %d; re-allocated %d edges and %d triplets and "
                        "continuing from step %d (one recompilation)", done + 1, *nbrs.capacity, done)
        elif reason == _OVERFLOW:  # the energy went NaN for want of short-list slots
            nbrs = grow_short(_build(state.position, box, cutoff, skin, triplets, short_multiplier, size_like),
                              stop["short_needed"], short_multiplier)
            since_build, n_rebuilds = 0, n_rebuilds + 1
            logger.info("short neighbour list overflowed at step %d (needs %d edges, %d on one atom, %d triplets); "
                        "re-allocated %d edges, %d per atom, %d triplets and continuing from step %d "
                        "(one recompilation)", done + 1, *stop["short_needed"], nbrs.short_capacity,
                        nbrs.short_slots, nbrs.short_triplets, done)
        elif reason == _BAD:
            failed_step = done + 1
            logger.warning("MD unstable at step %d: shortest pair %.3f Å (min_distance %.3f Å), energy %s eV",
                           failed_step, stop["min_distance"], min_distance, stop["potential_energy"])
    bar.close()
    out = {k: np.asarray(v) for k, v in frames.items()}
    out.update(box=np.asarray(box), stable=failed_step is None, failed_step=failed_step, n_steps_done=done,
               n_rebuilds=n_rebuilds, short_capacity=nbrs.short_capacity)
    return out
