"""The padded neighbour-list type and what reads it inside ``jit``: edge vectors, staleness."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.neighbors.cells import CellGrid

PAD_QUANTUM = 32  # capacities are rounded up to this, so similar structures share a compilation
SLOT_MARGIN = 2  # short-list slots per atom beyond the most neighbours any atom has at build time


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class NeighborList:
    """Edges and triplets of one configuration.

    Attributes:
        center: `[n_edges]` int32 index i of each ordered pair.
        neighbor: `[n_edges]` int32 index j.
        shift: `[n_edges, 3]` image shift S (whole numbers, stored as float) of j.
        edge_mask: `[n_edges]` bool, False on padding.
        triplets: `[n_triplets, 2]` int32 edge indices (e1, e2) sharing a centre, e1 < e2.
        triplet_mask: `[n_triplets]` bool, False on padding.
        reference_position: `[n_atoms, 3]` positions (Å) the list was built for.
        cutoff: list radius in Å, skin included.
        skin: part of ``cutoff`` that is buffer, in Å.
        pbc: periodicity along each cell vector.
        three_body: whether triplets were listed.
        minimum_image: every ordered pair is listed and its image is chosen afresh from the current
            positions (``shift`` unused): valid at any positions, see :func:`all_pairs`.
        short_capacity: slots of the per-evaluation short list (0: none), see :func:`short_list`.
        short_slots: most short-list edges one atom may have, for the short list's triplets
            (0: the short list carries no triplets).
        short_triplets: triplet capacity of the short list.
        grid: cell-list layout for rebuilding the list inside ``jit`` (None: host rebuilds only).
    """

    center: jax.Array
    neighbor: jax.Array
    shift: jax.Array
    edge_mask: jax.Array
    triplets: jax.Array
    triplet_mask: jax.Array
    reference_position: jax.Array
    cutoff: float = dataclasses.field(metadata=dict(static=True))
    skin: float = dataclasses.field(metadata=dict(static=True))
    pbc: tuple[bool, bool, bool] = dataclasses.field(metadata=dict(static=True))
    three_body: bool = dataclasses.field(metadata=dict(static=True))
    minimum_image: bool = dataclasses.field(default=False, metadata=dict(static=True))
    short_capacity: int = dataclasses.field(default=0, metadata=dict(static=True))
    short_slots: int = dataclasses.field(default=0, metadata=dict(static=True))
    short_triplets: int = dataclasses.field(default=0, metadata=dict(static=True))
    grid: CellGrid | None = dataclasses.field(default=None, metadata=dict(static=True))

    @property
    def n_edges(self) -> int:
        """Number of real (unpadded) ordered pairs."""
        return int(np.sum(np.asarray(self.edge_mask)))

    @property
    def capacity(self) -> tuple[int, int]:
        """Allocated (edges, triplets)."""
        return int(self.center.shape[0]), int(self.triplets.shape[0])


def round_capacity(n: int, multiplier: float) -> int:
    return max(PAD_QUANTUM, PAD_QUANTUM * math.ceil(n * multiplier / PAD_QUANTUM))


def device_array(array, dtype) -> jax.Array:
    """A host array on the device as ``dtype``, converted by numpy (``jnp.asarray`` compiles a program
    per shape and dtype, which every fresh process pays again)."""
    return jax.device_put(np.asarray(array, dtype=dtype))


@jax.jit
def needs_update(neighbors: NeighborList, position: jax.Array) -> jax.Array:
    """True once some atom moved more than half the skin since the list was built."""
    moved = jnp.sum((position - neighbors.reference_position) ** 2, axis=-1)
    return jnp.max(moved) > (0.5 * neighbors.skin) ** 2



def edge_vectors(position: jax.Array, box: jax.Array, neighbors: NeighborList) -> jax.Array:
    """`[n_edges, 3]` vectors r_j - r_i + S @ box in Å (zero on padding)."""
    dr = position[neighbors.neighbor] - position[neighbors.center]
    if neighbors.minimum_image:  # the image is piecewise constant in the positions: no gradient through S
        image = jax.lax.stop_gradient(jnp.round(dr @ jnp.linalg.inv(box)))
        return dr - image @ box
    return dr + neighbors.shift @ box
