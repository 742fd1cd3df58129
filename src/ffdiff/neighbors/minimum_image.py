"""Minimum-image lists: every ordered pair, its image chosen afresh at each evaluation, so the list
never goes stale (differentiable MD of small cells inside one ``jit``)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ffdiff.exceptions import StructureError
from ffdiff.neighbors.build import check_cell, pairs
from ffdiff.neighbors.cells import perpendicular_widths
from ffdiff.neighbors.lists import NeighborList, device_array, round_capacity


def all_pairs(n_atoms: int, box, cutoff: float, *, position=None,
              short_multiplier: float = 2.0) -> NeighborList:
    """Every ordered pair with its minimum image, chosen anew at each evaluation: a list that never
    goes stale, for differentiable MD inside one ``jit`` (n_atoms² edges, so for small cells).

    Args:
        n_atoms: number of atoms.
        box: `[3, 3]` periodic cell in Å.
        cutoff: interaction range in Å.
        position: `[n_atoms, 3]` positions in Å (or `[n_starts, n_atoms, 3]`, runs sharing the list)
            to size a short list for (:func:`short_list`: the pairs inside ``cutoff``, compacted at
            every evaluation, for energies that support it, the MPGNN among them);
            ``short_multiplier`` times the pairs found there (at the densest start), at most every pair.
            A liquid at 2000 K has ~11 neighbours per atom within 3.77 Å out of 63 in a 64-atom cell.
        short_multiplier: head room of the short list over the pairs found at ``position``.

    Raises:
        StructureError: ``cutoff`` exceeds half the smallest perpendicular cell width, beyond
            which the minimum image misses pairs.
    """
    box = np.asarray(box, dtype=np.float64)
    check_cell(box, (True, True, True))
    half_width = 0.5 * float(np.min(perpendicular_widths(box)))
    if cutoff > half_width:
        raise StructureError(f"all_pairs needs cutoff <= half the smallest cell width ({half_width:.3f} Å), "
                             f"got {cutoff} Å; use a larger cell or a host-built list")
    i, j = np.nonzero(~np.eye(n_atoms, dtype=bool))
    nbrs = NeighborList(  # made by numpy and counted on the host: no op-sized compilations
        center=device_array(i, np.int32), neighbor=device_array(j, np.int32), shift=device_array(np.zeros((len(i), 3)), np.float64),
        edge_mask=device_array(np.ones(len(i)), bool), triplets=device_array(np.zeros((1, 2)), np.int32),
        triplet_mask=device_array(np.zeros(1), bool), reference_position=device_array(np.zeros((n_atoms, 3)), np.float64),
        cutoff=float(half_width), skin=math.inf, pbc=(True, True, True), three_body=False, minimum_image=True)
    if position is None:
        return nbrs
    starts = np.asarray(position, dtype=np.float64).reshape(-1, n_atoms, 3)
    inside = max(len(pairs(start, box, (True, True, True), cutoff)[0]) for start in starts)
    return dataclasses.replace(nbrs, short_capacity=min(len(i), round_capacity(inside, short_multiplier)))
