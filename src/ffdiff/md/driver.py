"""MD trajectories: :func:`simulate`, one differentiable ``lax.scan``, and :func:`run_md`, the host
driver of long runs.

A trajectory of :func:`simulate` is one :func:`jax.lax.scan`, so ``jax.grad`` of any function of the
observations reaches the potential parameters. The neighbour list is fixed during :func:`simulate`: it
stores explicit image shifts for the positions it was built for, so positions are never wrapped back
into the cell, and the caller must keep every atom within ``skin / 2`` of the list's reference
positions. :func:`run_md` is the driver for long runs: compiled chunks that rebuild the list inside
the compiled loop wherever it goes stale, check stability at every step, and return to the host only to
record frames or to allocate a larger list. Units as :mod:`ffdiff.md.integrators`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.md.integrators import MDState, advance, conserved_energy, init_state, temperature
from ffdiff.md.lists import PAIR_SHORT_MULTIPLIER, build, shared_list
from ffdiff.md.settings import MDSettings
from ffdiff.neighbors import NeighborList, edge_vectors, grow_short, short_overflow
from ffdiff.potentials._masking import distance
from ffdiff.typing import Array, EnergyFn, Params
from ffdiff.units import SI_MASS_AMU

__all__ = ["run_md", "shared_list", "simulate"]

logger = logging.getLogger(__name__)


def _default_observe(state: MDState) -> Array:
    return state.position


def simulate(
    energy_fn: EnergyFn,
    params: Params,
    state: MDState,
    box: Array,
    neighbors: NeighborList,
    md: MDSettings,
    *,
    observe: Callable[[MDState], Any] | None = None,
    remat: bool = True,
) -> tuple[MDState, Any]:
    """Run ``md.n_steps`` steps as one ``lax.scan``, differentiable in ``params`` (and the initial state).

    Args:
        energy_fn: potential energy function.
        params: its parameter pytree.
        state: initial state (:func:`ffdiff.md.init_state`).
        box: `[3, 3]` cell in Å (fixed).
        neighbors: list valid for the whole run (atoms must stay within ``skin / 2``; nothing checks
            it here, see :func:`run_md`).
        md: ``md.n_steps`` steps (static) of ``md.timestep_fs`` fs in ``md.ensemble``, NVT at
            ``md.temperature_K`` K with thermostat time constant ``md.tdamp_fs`` fs (the initial
            temperature is ``state``'s; ``md.record_every`` is the caller's to apply).
        observe: ``observe(state) -> pytree`` recorded after every step; default the positions.
        remat: wrap the step in ``jax.checkpoint`` so reverse mode stores one state per step
            instead of every force evaluation's intermediates (costs one extra force pass backwards).

    Returns:
        (final state, observations stacked along a leading `[n_steps]` axis).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ase.build import bulk
        >>> from ffdiff import get_potential, neighbor_list
        >>> from ffdiff.md import init_state
        >>> pot = get_potential("sw"); params = pot.params()
        >>> atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        >>> box = jnp.asarray(atoms.cell.array)
        >>> nbrs = neighbor_list(atoms.positions, box, pot.cutoff(params), skin=1.0)
        >>> s0 = init_state(pot.energy, params, atoms.positions, box, nbrs, temperature_K=300.0,
        ...                 key=jax.random.PRNGKey(0))
        >>> md = MDSettings(timestep_fs=1.0, tdamp_fs=100.0, temperature_K=300.0, ensemble="nve", n_steps=5,
        ...                 record_every=1)
        >>> s, pos = simulate(pot.energy, params, s0, box, nbrs, md)
        >>> pos.shape
        (5, 8, 3)
    """
    observe = observe or _default_observe

    def step(state, _):
        state = advance(energy_fn, params, state, box, neighbors, md.timestep_fs, md.ensemble, md.temperature_K,
                        md.tdamp_fs)[0]
        return state, observe(state)

    if remat:
        step = jax.checkpoint(step)
    return jax.lax.scan(step, state, None, length=md.n_steps)


# ---------------------------------------------------------------------------------------------
# Host driver


def _min_distance(position: Array, box: Array, neighbors: NeighborList) -> Array:
    """Shortest listed pair distance in Å (inf without pairs); exact while the list is valid."""
    r = distance(edge_vectors(position, box, neighbors), neighbors.edge_mask)
    return jnp.min(jnp.where(neighbors.edge_mask, r, jnp.inf))


def _frame(state: MDState, thermostat_t, tdamp_fs) -> dict[str, Array]:
    """What :func:`run_md` records of a step (``conserved`` is the NVT invariant, or the total energy)."""
    return {"position": state.position, "potential_energy": state.potential_energy,
            "temperature": temperature(state), "total_energy": conserved_energy(state),
            "conserved": conserved_energy(state, temperature_K=thermostat_t, tdamp_fs=tdamp_fs)}


@jax.jit
def _first_frame(state: MDState, box, neighbors, thermostat_t, tdamp_fs) -> tuple[dict[str, Array], Array]:
    return _frame(state, thermostat_t, tdamp_fs), _min_distance(state.position, box, neighbors)


# Why a chunk stopped before its last step: the first rejected step's list, rebuilt inside the chunk, did not
# fit its capacities; its short list overflowed; or it failed the stability checks.
_RUNNING, _REALLOCATE, _OVERFLOW, _BAD = range(4)


@functools.partial(jax.jit, static_argnames=("energy_fn", "length", "ensemble"))
def _chunk(energy_fn, params, state, box, neighbors, timestep_fs, temperature_K, tdamp_fs, n_steps, min_distance, *,
           length, ensemble):
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
        new, nbrs, rebuilt, list_overflow = advance(energy_fn, params, s, box, nbrs, timestep_fs, ensemble, thermostat_t,
                                                    tdamp_fs, refresh=True)
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
        frame = _frame(new, thermostat_t, tdamp_fs)
        obs = jax.tree.map(lambda buffer, x: buffer.at[stop["accepted"]].set(x), obs, frame)
        stop = {"reason": check["reason"], "accepted": stop["accepted"] + accept.astype(jnp.int32),
                "rebuilds": stop["rebuilds"] + (accept & check["rebuilt"]).astype(jnp.int32),
                "check": jax.tree.map(lambda a, b: jnp.where(accept, b, a), check, stop["check"])}
        return jax.tree.map(lambda a, b: jnp.where(accept, a, b), new, s), nbrs, stop, obs

    _, _, check0 = jax.eval_shape(attempt, state, neighbors)
    check0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), check0)  # reason 0 = _RUNNING
    stop0 = {"reason": check0["reason"], "accepted": jnp.int32(0), "rebuilds": jnp.int32(0), "check": check0}
    obs0 = jax.tree.map(lambda a: jnp.zeros((length, *a.shape), a.dtype),
                        jax.eval_shape(_frame, state, thermostat_t, tdamp_fs))
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


def run_md(
    energy_fn: EnergyFn,
    params: Params,
    position,
    box,
    md: MDSettings,
    *,
    cutoff: float,
    seed: int,
    skin: float = 1.0,
    mass: float | Array = SI_MASS_AMU,
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
        md: ``md.n_steps`` steps of ``md.timestep_fs`` fs in ``md.ensemble``, from velocities at
            ``md.temperature_K`` K (the NVT target, thermostat time constant ``md.tdamp_fs`` fs), a
            frame recorded every ``md.record_every`` steps (frame 0 is the initial state).
        cutoff: interaction range in Å (e.g. ``potential.cutoff(params)``).
        seed: seed of the initial velocities.
        skin: neighbour-list buffer in Å.
        mass: amu, scalar or `[n_atoms]`.
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
        ValueError: ``chunk`` below 1, or ``min_distance`` not below the list radius.
    """
    from tqdm.auto import tqdm

    if chunk < 1:
        raise ValueError(f"expected chunk >= 1, got {chunk}")
    if not min_distance < cutoff + skin:
        raise ValueError(f"expected min_distance < cutoff + skin = {cutoff + skin} Å, got {min_distance}")
    position = jnp.asarray(position)
    dtype = position.dtype if position.dtype == jnp.float32 else jnp.float64
    position, box = position.astype(dtype), jnp.asarray(box, dtype)
    triplets = three_body if triplets is None else triplets
    if short_multiplier is None:
        short_multiplier = 2.0 if three_body else PAIR_SHORT_MULTIPLIER
    nbrs = build(position, box, cutoff, skin, triplets, short_multiplier, size_like)
    state = init_state(energy_fn, params, position, box, nbrs, mass=mass, temperature_K=md.temperature_K,
                       key=jax.random.PRNGKey(seed))
    thermostat_t = md.temperature_K if md.ensemble == "nvt" else None
    frame, first = jax.tree.map(np.asarray, _first_frame(state, box, nbrs, thermostat_t, md.tdamp_fs))
    frames = {"positions": [frame.pop("position")], "steps": [0], **{k: [float(v)] for k, v in frame.items()}}
    first = float(first)
    failed_step = None if (np.isfinite(frames["potential_energy"][0]) and first >= min_distance) else 0
    if failed_step == 0:
        logger.warning("initial configuration unusable: shortest pair %.3f Å (min_distance %.3f Å), "
                       "energy %s eV", first, min_distance, frames["potential_energy"][0])

    done, since_build, n_rebuilds = 0, 0, 0
    bar = tqdm(total=md.n_steps, disable=not progress, unit="step", mininterval=5.0, desc=f"MD {md.ensemble}")
    while failed_step is None and done < md.n_steps:
        state, carried, obs, stop = _chunk(energy_fn, params, state, box, nbrs, md.timestep_fs, md.temperature_K,
                                           md.tdamp_fs, min(chunk, md.n_steps - done), min_distance, length=chunk,
                                           ensemble=md.ensemble)
        stop = {k: np.asarray(v) for k, v in stop.items()}
        keep, reason = int(stop["accepted"]), int(stop["reason"])
        _record(frames, obs, done, keep, md.record_every)
        done, since_build, n_rebuilds = done + keep, since_build + keep, n_rebuilds + int(stop["rebuilds"])
        bar.update(keep)
        if reason == _RUNNING:
            nbrs = carried
        elif reason == _REALLOCATE and since_build == 0:  # a fresh list's neighbourhood changed in one step
            failed_step = done + 1
            logger.warning("MD unstable at step %d: the neighbour list rebuilt there needs more than 1.25 times the "
                           "room of one built a step earlier", failed_step)
        elif reason == _REALLOCATE:
            nbrs, since_build, n_rebuilds = build(state.position, box, cutoff, skin, triplets, short_multiplier,
                                                   size_like), 0, n_rebuilds + 1
            logger.info("neighbour list outgrew its capacity at step %d; re-allocated %d edges and %d triplets and "
                        "continuing from step %d (one recompilation)", done + 1, *nbrs.capacity, done)
        elif reason == _OVERFLOW:  # the energy went NaN for want of short-list slots
            nbrs = grow_short(build(state.position, box, cutoff, skin, triplets, short_multiplier, size_like),
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
