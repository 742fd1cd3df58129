"""Neighbour lists of MD runs (:func:`ffdiff.md.run_md`): built so they can be rebuilt inside ``jit``, with a
short list where it pays, and sized so that runs from different starts share one compiled program."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ffdiff.neighbors import NeighborList, neighbor_list

__all__ = ["PAIR_SHORT_MULTIPLIER", "build", "shared_list"]

PAIR_SHORT_MULTIPLIER = 1.1
"""Default head room of a pair model's short list in :func:`ffdiff.md.run_md` (pairs inside the cutoff at a build,
times this, rounded up to 32). A network's cost is its per-edge work, all of it on short-list slots, so
every spare slot costs as much as a pair: with 1.1 an MPGNN step costs about one evaluation on an
exact-cutoff list (``benchmarks/gnn_md.py``; 2000 K liquid: 1.0 at 64 and 216 atoms, against 2.1-2.3
with the whole 1 Å-skin list). The count fluctuates little: 649 ± 15 pairs (at most 1.05 times the
start) within 3.77 Å in a 64-atom EDIP liquid at 2000-2600 K over 3 ps, 460 ± 18 (at most 1.10 times a
thermalised start) in diamond at 900 K; a rarer excursion overflows, and the run re-allocates with the
same head room (one recompilation). A start far from its run's density of pairs (a perfect crystal
heated, a model whose atoms cluster) re-allocates a few times."""


def build(position, box, cutoff: float, skin: float, triplets: bool, short_multiplier: float,
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
    :func:`ffdiff.md.run_md` for each of them and all R runs share one compiled program (one compilation, some
    seconds, instead of one per run whose list happens to be sized differently). Keywords as
    :func:`ffdiff.md.run_md`'s."""
    triplets = three_body if triplets is None else triplets
    short_multiplier = short_multiplier or (2.0 if three_body else PAIR_SHORT_MULTIPLIER)
    lists = [build(x, box, cutoff, skin, triplets, short_multiplier) for x in np.asarray(starts)]
    sizes = _largest(lists)
    return neighbor_list(np.asarray(starts)[0], np.asarray(box), cutoff, skin=skin, triplets=triplets,
                         capacity=sizes["capacity"], short=sizes["short"] or False,
                         short_triplets=sizes["short_triplets"], grid=sizes["grid"])

