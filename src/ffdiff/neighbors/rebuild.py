"""Renewing a list inside ``jit`` from its cell grid, at the capacities it was built with."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from ffdiff.neighbors import cells as cell_list
from ffdiff.neighbors.lists import NeighborList, needs_update
from ffdiff.neighbors.short import triplets_of


def rebuild(neighbors: NeighborList, position: jax.Array, box: jax.Array) -> tuple[NeighborList, jax.Array]:
    """The list for ``position``, found inside ``jit`` by the list's cell grid, with the capacities
    and settings of ``neighbors`` (so nothing recompiles).

    Returns:
        (the list, overflow flag: a cell, the edges or the triplets did not fit; the list is then
        incomplete and must be re-allocated on the host with :func:`neighbor_list`).
    """
    if neighbors.grid is None:
        raise ValueError("this list has no cell grid; build it with neighbor_list(..., grid=True) "
                         "in a periodic cell")
    position = jax.lax.stop_gradient(position)  # the list's structure has no derivative
    n_edges, n_trip = neighbors.capacity
    center, neighbor, shift, mask, overflow = cell_list.search(neighbors.grid, position, box, neighbors.cutoff,
                                                               n_edges)
    trip, trip_mask = neighbors.triplets, neighbors.triplet_mask
    if neighbors.three_body:
        trip, trip_mask, trip_overflow = triplets_of(center, mask, position.shape[0], neighbors.grid.slots,
                                                         n_trip)
        overflow = overflow | trip_overflow
    rebuilt = dataclasses.replace(neighbors, center=center, neighbor=neighbor, shift=shift, edge_mask=mask,
                                  triplets=trip, triplet_mask=trip_mask, reference_position=position)
    return rebuilt, overflow


def refresh(neighbors: NeighborList, position: jax.Array, box: jax.Array):
    """``neighbors`` while still valid at ``position`` (:func:`needs_update`), else :func:`rebuild`.

    Returns:
        (list, whether it was rebuilt, overflow flag of the rebuild).
    """
    stale = needs_update(neighbors, position)
    nbrs, overflow = jax.lax.cond(stale, rebuild, lambda n, p, b: (n, jnp.zeros((), bool)), neighbors, position, box)
    return nbrs, stale, overflow
