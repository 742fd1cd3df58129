"""Building lists on the host, at padded capacities.

Lists are built by vesin's cell-list search (exact for any triclinic cell; ASE's gives the same
pairs at 15-20 times the cost) and padded to a fixed capacity, so jitted energy functions do not
recompile while counts fluctuate. Padded entries point at atom 0 with zero shift and are masked out.
Triplets are listed edge pairs: ~6 per atom in diamond instead of the K² a dense ``[n, K, K]`` layout
costs. A list may also carry the sizes of a short list (:mod:`ffdiff.neighbors.short`) and a
cell-grid layout (:mod:`ffdiff.neighbors.cells`) for rebuilding it inside ``jit``
(:mod:`ffdiff.neighbors.rebuild`): MD then leaves the compiled loop only for an overflow, after
which the host allocates a larger list.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ffdiff.exceptions import StructureError
from ffdiff.neighbors import cells as cell_list
from ffdiff.neighbors.cells import perpendicular_widths
from ffdiff.neighbors.lists import SLOT_MARGIN, NeighborList, device_array, round_capacity
from ffdiff.neighbors.overflow import check_room

logger = logging.getLogger(__name__)

# A short list is sized only if its slots are at most this fraction of the listed edges: selecting
# them costs about a pass over the list (EDIP with a 0.5 Å skin lists 4 neighbours, 4 are inside).
_SHORT_WORTH = 0.75


def _pair_triplets(center: np.ndarray, n_atoms: int) -> np.ndarray:
    """All (e1, e2), e1 < e2, of edges sharing a centre; ``center`` must be sorted."""
    counts = np.bincount(center, minlength=n_atoms)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    blocks = []
    for n in np.unique(counts):
        if n < 2:
            continue
        a, b = np.triu_indices(n, k=1)
        first = starts[counts == n][:, None]
        blocks.append(np.stack([(first + a).ravel(), (first + b).ravel()], axis=1))
    if not blocks:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(blocks)


def check_cell(box: np.ndarray, pbc: tuple[bool, bool, bool]) -> None:
    if box.shape != (3, 3):
        raise StructureError(f"expected a [3, 3] cell, got shape {box.shape}")
    if any(pbc) and abs(np.linalg.det(box)) < 1e-12:
        raise StructureError(f"periodic cell has zero volume: {box.tolist()}")


def neighbor_list(
    position,
    box,
    cutoff: float,
    *,
    skin: float = 0.0,
    pbc: tuple[bool, bool, bool] = (True, True, True),
    triplets: bool = True,
    capacity: tuple[int, int] | None = None,
    capacity_multiplier: float = 1.25,
    short: bool | int = False,
    short_multiplier: float = 2.0,
    short_triplets: tuple[int, int] | None = None,
    grid: bool | cell_list.CellGrid = False,
) -> NeighborList:
    """Build a padded neighbour list on the host.

    Args:
        position: `[n_atoms, 3]` positions in Å; they need not lie inside the cell.
        box: `[3, 3]` cell, lattice vectors as rows, in Å.
        cutoff: interaction range in Å (> 0).
        skin: extra range in Å, so the list stays valid while atoms move less than ``skin / 2``.
        pbc: periodicity along each cell vector.
        triplets: also list edge pairs for three-body terms.
        capacity: (edges, triplets) to allocate; by default the counts found times
            ``capacity_multiplier``, rounded up.
        capacity_multiplier: head room when ``capacity`` is not given.
        short: also size a short list (:func:`short_list`): ``True`` for the pairs found within
            ``cutoff`` times ``short_multiplier``, unless that is more than 3/4 of the listed
            edges (then none: it would not pay), an int for that many slots. Ignored without a skin.
        short_multiplier: head room of the short list; thermal motion pulls diamond's second shell
            in (4 neighbours at rest, ~6.3 at 300 K), hence more than ``capacity_multiplier``.
            With ``triplets`` the short list's triplets get this head room too, and every atom
            ``SLOT_MARGIN`` (2) more neighbour slots than the most any atom has.
        short_triplets: (slots per atom, triplets) of the short list's triplets to allocate instead.
        grid: size a cell-list layout (``True``) or use this one, so that :func:`rebuild` can renew
            the list inside ``jit``; ``True`` sizes none in a cell not periodic along all three vectors.

    Raises:
        NeighborListOverflowError: ``capacity`` (or an int ``short``) is given and too small.
        StructureError: the cell is degenerate, or ``cutoff`` is not positive.
    """
    position = np.asarray(position, dtype=np.float64)
    box = np.asarray(box, dtype=np.float64)
    pbc = tuple(bool(p) for p in np.broadcast_to(pbc, (3,)))
    if not cutoff > 0 or skin < 0:
        raise StructureError(f"expected cutoff > 0 Å and skin >= 0 Å, got cutoff={cutoff}, skin={skin}")
    check_cell(box, pbc)
    radius = float(cutoff) + float(skin)
    i, j, s = pairs(position, box, pbc, radius)
    trip = _pair_triplets(i, len(position)) if triplets else np.zeros((0, 2), dtype=np.int64)

    if capacity is None:
        capacity = (round_capacity(len(i), capacity_multiplier),
                    round_capacity(len(trip), capacity_multiplier) if triplets else 1)
    n_edge_cap, n_trip_cap = capacity
    check_room("neighbour list", {"edges": len(i), "triplets": len(trip)},
               {"edges": n_edge_cap, "triplets": n_trip_cap}, "capacity=None")
    n_short, short_cap, slots, n_slot_trip = 0, 0, 0, 0
    if short is not False and skin > 0:
        inside = np.sum((position[j] - position[i] + s @ box) ** 2, axis=1) < cutoff**2
        n_short = int(np.count_nonzero(inside))
        short_cap = (min(n_edge_cap, round_capacity(n_short, short_multiplier)) if short is True else int(short))
        if short is True and short_cap > _SHORT_WORTH * len(i):  # selecting would cost more than it saves
            short_cap = 0
        else:
            check_room("short list", {"edges": n_short}, {"edges": short_cap}, "short=True")
        if triplets and short_cap:
            slots, n_slot_trip = _short_triplet_sizes(i[inside], len(position), short_multiplier, short_triplets)
    if grid is True and all(pbc):
        most = int(np.bincount(i, minlength=len(position)).max(initial=0))
        grid = cell_list.cell_grid(position, box, radius, perpendicular_widths(box),
                                   slots=_slots(most, capacity_multiplier) if triplets else 0,
                                   headroom=capacity_multiplier)
    pad_e, pad_t = n_edge_cap - len(i), n_trip_cap - len(trip)
    return NeighborList(
        center=device_array(np.pad(i, (0, pad_e)), np.int32),
        neighbor=device_array(np.pad(j, (0, pad_e)), np.int32),
        shift=device_array(np.pad(s, ((0, pad_e), (0, 0))), position.dtype),
        edge_mask=device_array(np.arange(n_edge_cap) < len(i), bool),
        triplets=device_array(np.pad(trip, ((0, pad_t), (0, 0))), np.int32),
        triplet_mask=device_array(np.arange(n_trip_cap) < len(trip), bool),
        reference_position=device_array(position, position.dtype),
        cutoff=radius,
        skin=float(skin),
        pbc=pbc,
        three_body=triplets,
        short_capacity=short_cap,
        short_slots=slots,
        short_triplets=n_slot_trip,
        grid=grid if isinstance(grid, cell_list.CellGrid) else None,
    )


def pairs(position: np.ndarray, box: np.ndarray, pbc, radius: float):
    """Every ordered pair (i, j, S) with 0 < |r_j - r_i + S @ box| < ``radius``, centre-sorted (in an order
    within each centre that vesin does not specify, the same for the same input)."""
    import vesin

    search = vesin.NeighborList(cutoff=radius, full_list=True, sorted=True, n_threads=1)  # a job's one thread
    i, j, s = search.compute(position, box, list(pbc), "ijS")
    return i.astype(np.int64), j.astype(np.int64), s.astype(np.int64)


def _slots(most: int, multiplier: float) -> int:
    """Neighbour slots per atom for pairing edges into triplets, given the most any atom has now."""
    return max(most + SLOT_MARGIN, math.ceil(multiplier * most))


def _short_triplet_sizes(center_inside: np.ndarray, n_atoms: int, multiplier: float,
                         fixed: tuple[int, int] | None) -> tuple[int, int]:
    """(slots per atom, triplet capacity) of a short list whose inside edges have these centres."""
    count = np.bincount(center_inside, minlength=n_atoms)
    most, n_trip = int(count.max(initial=0)), int(np.sum(count * (count - 1) // 2))
    if fixed is None:
        return max(most + SLOT_MARGIN, 2), round_capacity(n_trip, multiplier)
    check_room("short list", {"neighbours on one atom": most, "triplets": n_trip},
               {"neighbours on one atom": fixed[0], "triplets": fixed[1]}, "short_triplets=None")
    return fixed


def update(neighbors: NeighborList, position, box) -> NeighborList:
    """Rebuild for new positions keeping the capacity (so compiled functions are reused).

    Raises:
        NeighborListOverflowError: the new configuration needs more room; call
            :func:`neighbor_list` again to re-allocate.
    """
    return neighbor_list(
        position, box, neighbors.cutoff - neighbors.skin, skin=neighbors.skin, pbc=neighbors.pbc,
        triplets=neighbors.three_body,
        capacity=neighbors.capacity, short=neighbors.short_capacity or False,
        short_triplets=(neighbors.short_slots, neighbors.short_triplets) if neighbors.short_slots else None,
        grid=neighbors.grid or False,
    )
