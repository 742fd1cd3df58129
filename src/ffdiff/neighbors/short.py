"""Short lists: the listed edges inside the interaction range, compacted at every evaluation.

A list with a skin can carry a *short-list* capacity: energy functions that support it (SW, EDIP,
the GNNs) then compact, inside ``jit``, the edges that lie inside the interaction range into that
many slots (:func:`short_list`), as LAMMPS does each step, so the costly per-edge algebra skips the
skin (diamond: ~6 of 16 listed neighbours at 300 K). A list with triplets also sizes the short list's
own triplets (EDIP): the pairs of short-list edges sharing a centre, found and compacted in the same
pass (diamond: 6 per atom against 120 listed with a 1 Å skin). If more edges or triplets are inside
than slots, the flag says so (:mod:`ffdiff.neighbors.overflow`) and drivers re-allocate
(:func:`short_overflow`, :func:`grow_short`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.neighbors.cells import compact
from ffdiff.neighbors.overflow import guard
from ffdiff.neighbors.lists import SLOT_MARGIN, NeighborList, edge_vectors, round_capacity


def _inside(neighbors: NeighborList, position: jax.Array, box: jax.Array, radius) -> jax.Array:
    """`[n_edges]` bool: the listed edges shorter than ``radius``."""
    dr = jax.lax.stop_gradient(edge_vectors(position, box, neighbors))  # selection only: no gradient
    return neighbors.edge_mask & (jnp.sum(dr * dr, axis=-1) < jax.lax.stop_gradient(radius) ** 2)


def short_list(neighbors: NeighborList, position: jax.Array, box: jax.Array, radius, *,
               triplets: bool = True) -> tuple[NeighborList, jax.Array]:
    """The listed edges shorter than ``radius`` (Å), compacted in order into ``short_capacity`` slots,
    with their triplets if the list sized them (``short_slots``) and ``triplets`` asks for them.

    Returns:
        (list of those edges, same ``shift`` convention; overflow flag: more edges or triplets
        inside than slots, in which case the short list misses some and must not be used).
    """
    cap = neighbors.short_capacity
    index, n_inside = compact(_inside(neighbors, position, box, radius), cap)
    mask = jnp.arange(cap) < n_inside
    index = jnp.where(mask, index, 0)
    center = neighbors.center[index]
    overflow = n_inside > cap
    trip, trip_mask = jnp.zeros((1, 2), jnp.int32), jnp.zeros(1, bool)
    with_triplets = triplets and neighbors.short_slots > 0
    if with_triplets:
        trip, trip_mask, trip_overflow = triplets_of(center, mask, position.shape[0], neighbors.short_slots,
                                                         neighbors.short_triplets)
        overflow = overflow | trip_overflow
    short = dataclasses.replace(
        neighbors, center=center, neighbor=neighbors.neighbor[index], shift=neighbors.shift[index],
        edge_mask=mask, triplets=trip, triplet_mask=trip_mask, three_body=with_triplets,
        short_capacity=0, short_slots=0, short_triplets=0)
    return short, overflow


def triplets_of(center, mask, n_atoms: int, slots: int, capacity: int):
    """Triplets of a centre-sorted edge list: (`[capacity, 2]` edge pairs, mask, overflow flag).

    Each atom's edges go into a row of ``slots``; every pair of filled slots is a triplet, compacted
    in order into ``capacity`` entries (:func:`ffdiff.neighbors.cells.compact`).
    """
    count = jax.ops.segment_sum(mask.astype(jnp.int32), center, num_segments=n_atoms)
    edge = jnp.arange(center.shape[0], dtype=jnp.int32)
    place = edge - (jnp.cumsum(count) - count)[center]  # rank of the edge among its centre's edges
    row = jnp.where(mask & (place < slots), center, n_atoms)  # padding and overflow: dropped
    table = jnp.zeros((n_atoms, slots), jnp.int32).at[row, place].set(edge, mode="drop")
    a, b = (jnp.asarray(x) for x in np.triu_indices(slots, k=1))
    index, n_trip = compact((b[None, :] < count[:, None]).ravel(), capacity)
    mask = jnp.arange(capacity) < n_trip
    atom, pair = index // a.shape[0], index % a.shape[0]
    trip = jnp.where(mask[:, None], jnp.stack([table[atom, a[pair]], table[atom, b[pair]]], axis=1), 0)
    return trip, mask, (jnp.max(count) > slots) | (n_trip > capacity)


def short_overflow(neighbors: NeighborList, position: jax.Array, box: jax.Array) -> tuple[jax.Array, jax.Array]:
    """What the short list needs at these positions and whether it overflows (always False without one).

    Returns:
        (`[3]` ints: listed edges within the interaction range ``cutoff - skin``, the most of them on
        one atom, and their triplets; whether they exceed ``short_capacity``, ``short_slots`` or
        ``short_triplets`` — the last two only if the list sized short-list triplets).
    """
    inside = _inside(neighbors, position, box, neighbors.cutoff - neighbors.skin)
    count = jax.ops.segment_sum(inside.astype(jnp.int32), neighbors.center, num_segments=position.shape[0])
    needed = jnp.stack([jnp.sum(count), jnp.max(count), jnp.sum(count * (count - 1) // 2)])
    over = (neighbors.short_capacity > 0) & (needed[0] > neighbors.short_capacity)
    if neighbors.short_slots:
        over = over | (needed[1] > neighbors.short_slots) | (needed[2] > neighbors.short_triplets)
    return needed, over


def grow_short(neighbors: NeighborList, needed, multiplier: float = 2.0) -> NeighborList:
    """``neighbors`` with a short list large enough for ``needed`` (from :func:`short_overflow`), with
    ``multiplier`` times the edges and triplets as head room (pass the ``short_multiplier`` the list
    was built with, so that a grown list keeps the head room of a fresh one)."""
    n_edges, most, n_trip = (int(x) for x in needed)
    grown = {"short_capacity": max(neighbors.short_capacity,
                                   min(neighbors.capacity[0], round_capacity(n_edges, multiplier)))}
    if neighbors.short_slots:
        grown.update(short_slots=max(neighbors.short_slots, most + SLOT_MARGIN),
                     short_triplets=max(neighbors.short_triplets, round_capacity(n_trip, multiplier)))
    return dataclasses.replace(neighbors, **grown)


def on_short_list(fn: Callable[[NeighborList], jax.Array], neighbors: NeighborList, position: jax.Array,
                  box: jax.Array, radius, *, triplets: bool) -> jax.Array:
    """``fn`` of the edges inside ``radius`` (Å) when ``neighbors`` sizes a short list (with triplets, if
    ``triplets`` asks for them and the list sized them), guarded (:func:`ffdiff.neighbors.guard`): NaN
    if the short list overflowed; ``fn(neighbors)`` when it sizes none. Every potential's energy goes
    through it.

    A ``lax.cond`` fallback to the full list would be exact, but reverse mode then zero-fills the
    unused branch's residuals at every call, which cost a third of an SW MD step."""
    if not (neighbors.short_slots if triplets else neighbors.short_capacity):
        return fn(neighbors)
    short, overflow = short_list(neighbors, position, box, radius, triplets=triplets)
    return guard(fn(short), overflow)
