"""Periodic neighbour lists as padded edge and triplet lists.

The list stores, for every ordered pair (i, j) closer than ``cutoff + skin``, the integer image shift
``S`` with ``r_ij = position[j] - position[i] + S @ box``. Because the image is explicit, cells
narrower than twice the cutoff (the 8-atom diamond cell) are handled exactly, and the energy stays a
smooth function of both positions and box, which is what stress and elastic constants need.

Three-body terms run over *triplets*: pairs of edges (e1, e2), e1 < e2, that share their centre
atom. That is ~6 triplets per atom in diamond instead of the K² a dense ``[n, K, K]`` layout costs.

A list with a skin can also carry a *short-list* capacity: energy functions that support it
(Stillinger–Weber) then compact, at every evaluation and inside ``jit``, the edges that lie inside
the interaction range into that many slots (:func:`short_list`), as LAMMPS does each step, so the
costly per-edge algebra skips the skin (diamond: ~6 of 16 listed neighbours at 300 K). A list with
triplets also sizes the short list's own triplets (EDIP): the pairs of short-list edges sharing a
centre, found and compacted in the same pass (diamond: 6 per atom against 120 listed with a 1 Å
skin). If more edges or triplets are inside than slots, the energy is NaN rather than short of
terms, and drivers re-allocate (:func:`short_overflow`, :func:`grow_short`).

Lists are built on the host (vesin's cell-list search, exact for any triclinic cell; ASE's gives the
same pairs at 15-20 times the cost) and padded to a fixed capacity, so jitted energy functions do
not recompile while counts fluctuate. Padded entries point at atom 0 with zero shift and are masked
out. A periodic list built with ``grid=True`` also carries a cell-list layout
(:mod:`ffdiff.cell_list`) and can be rebuilt inside ``jit`` at the same capacities (:func:`rebuild`,
:func:`refresh`): MD then never leaves the compiled loop for a stale list, only for an overflow,
after which the host allocates a larger list.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff import cell_list
from ffdiff.exceptions import NeighborListOverflowError, StructureError

logger = logging.getLogger(__name__)

_PAD_QUANTUM = 32  # capacities are rounded up to this, so similar structures share a compilation
_SLOT_MARGIN = 2  # short-list slots per atom beyond the most neighbours any atom has at build time
# A short list is sized only if its slots are at most this fraction of the listed edges: selecting
# them costs about a pass over the list (EDIP with a 0.5 Å skin lists 4 neighbours, 4 are inside).
_SHORT_WORTH = 0.75


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
    grid: cell_list.CellGrid | None = dataclasses.field(default=None, metadata=dict(static=True))

    @property
    def n_edges(self) -> int:
        """Number of real (unpadded) ordered pairs."""
        return int(np.sum(np.asarray(self.edge_mask)))

    @property
    def capacity(self) -> tuple[int, int]:
        """Allocated (edges, triplets)."""
        return int(self.center.shape[0]), int(self.triplets.shape[0])


def _round_capacity(n: int, multiplier: float) -> int:
    return max(_PAD_QUANTUM, _PAD_QUANTUM * math.ceil(n * multiplier / _PAD_QUANTUM))


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


def _check_cell(box: np.ndarray, pbc: tuple[bool, bool, bool]) -> None:
    if box.shape != (3, 3):
        raise StructureError(f"expected a [3, 3] cell, got shape {box.shape}")
    if any(pbc) and abs(np.linalg.det(box)) < 1e-12:
        raise StructureError(f"periodic cell has zero volume: {box.tolist()}")


def _device(array, dtype) -> jax.Array:
    """A host array on the device as ``dtype``, converted by numpy (``jnp.asarray`` compiles a program
    per shape and dtype, which every fresh process pays again)."""
    return jax.device_put(np.asarray(array, dtype=dtype))


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
            ``_SLOT_MARGIN`` (2) more neighbour slots than the most any atom has.
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
    _check_cell(box, pbc)
    radius = float(cutoff) + float(skin)
    i, j, s = _pairs(position, box, pbc, radius)
    trip = _pair_triplets(i, len(position)) if triplets else np.zeros((0, 2), dtype=np.int64)

    if capacity is None:
        capacity = (_round_capacity(len(i), capacity_multiplier),
                    _round_capacity(len(trip), capacity_multiplier) if triplets else 1)
    n_edge_cap, n_trip_cap = capacity
    if len(i) > n_edge_cap or len(trip) > n_trip_cap:
        raise NeighborListOverflowError(
            f"neighbour list needs {len(i)} edges and {len(trip)} triplets, "
            f"allocated {n_edge_cap} and {n_trip_cap}; re-allocate with capacity=None"
        )
    n_short, short_cap, slots, n_slot_trip = 0, 0, 0, 0
    if short is not False and skin > 0:
        inside = np.sum((position[j] - position[i] + s @ box) ** 2, axis=1) < cutoff**2
        n_short = int(np.count_nonzero(inside))
        short_cap = (min(n_edge_cap, _round_capacity(n_short, short_multiplier)) if short is True else int(short))
        if short is True and short_cap > _SHORT_WORTH * len(i):  # selecting would cost more than it saves
            short_cap = 0
        elif n_short > short_cap:
            raise NeighborListOverflowError(
                f"short list needs {n_short} edges, allocated {short_cap}; re-allocate with short=True")
        if triplets and short_cap:
            slots, n_slot_trip = _short_triplet_sizes(i[inside], len(position), short_multiplier, short_triplets)
    if grid is True and all(pbc):
        most = int(np.bincount(i, minlength=len(position)).max(initial=0))
        grid = cell_list.cell_grid(position, box, radius, perpendicular_widths(box),
                                   slots=_slots(most, capacity_multiplier) if triplets else 0,
                                   headroom=capacity_multiplier)
    pad_e, pad_t = n_edge_cap - len(i), n_trip_cap - len(trip)
    return NeighborList(
        center=_device(np.pad(i, (0, pad_e)), np.int32),
        neighbor=_device(np.pad(j, (0, pad_e)), np.int32),
        shift=_device(np.pad(s, ((0, pad_e), (0, 0))), position.dtype),
        edge_mask=_device(np.arange(n_edge_cap) < len(i), bool),
        triplets=_device(np.pad(trip, ((0, pad_t), (0, 0))), np.int32),
        triplet_mask=_device(np.arange(n_trip_cap) < len(trip), bool),
        reference_position=_device(position, position.dtype),
        cutoff=radius,
        skin=float(skin),
        pbc=pbc,
        three_body=triplets,
        short_capacity=short_cap,
        short_slots=slots,
        short_triplets=n_slot_trip,
        grid=grid if isinstance(grid, cell_list.CellGrid) else None,
    )


def _pairs(position: np.ndarray, box: np.ndarray, pbc, radius: float):
    """Every ordered pair (i, j, S) with 0 < |r_j - r_i + S @ box| < ``radius``, centre-sorted (in an order
    within each centre that vesin does not specify, the same for the same input)."""
    import vesin

    search = vesin.NeighborList(cutoff=radius, full_list=True, sorted=True, n_threads=1)  # a job's one thread
    i, j, s = search.compute(position, box, list(pbc), "ijS")
    return i.astype(np.int64), j.astype(np.int64), s.astype(np.int64)


def _slots(most: int, multiplier: float) -> int:
    """Neighbour slots per atom for pairing edges into triplets, given the most any atom has now."""
    return max(most + _SLOT_MARGIN, math.ceil(multiplier * most))


def _short_triplet_sizes(center_inside: np.ndarray, n_atoms: int, multiplier: float,
                         fixed: tuple[int, int] | None) -> tuple[int, int]:
    """(slots per atom, triplet capacity) of a short list whose inside edges have these centres."""
    count = np.bincount(center_inside, minlength=n_atoms)
    most, n_trip = int(count.max(initial=0)), int(np.sum(count * (count - 1) // 2))
    if fixed is None:
        return max(most + _SLOT_MARGIN, 2), _round_capacity(n_trip, multiplier)
    if most > fixed[0] or n_trip > fixed[1]:
        raise NeighborListOverflowError(
            f"short list needs {most} neighbours on one atom and {n_trip} triplets, allocated {fixed[0]} and "
            f"{fixed[1]}; re-allocate with short_triplets=None")
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
        trip, trip_mask, trip_overflow = _short_triplets(center, mask, position.shape[0], neighbors.grid.slots,
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
    index, n_inside = cell_list.compact(_inside(neighbors, position, box, radius), cap)
    mask = jnp.arange(cap) < n_inside
    index = jnp.where(mask, index, 0)
    center = neighbors.center[index]
    overflow = n_inside > cap
    trip, trip_mask = jnp.zeros((1, 2), jnp.int32), jnp.zeros(1, bool)
    with_triplets = triplets and neighbors.short_slots > 0
    if with_triplets:
        trip, trip_mask, trip_overflow = _short_triplets(center, mask, position.shape[0], neighbors.short_slots,
                                                         neighbors.short_triplets)
        overflow = overflow | trip_overflow
    short = dataclasses.replace(
        neighbors, center=center, neighbor=neighbors.neighbor[index], shift=neighbors.shift[index],
        edge_mask=mask, triplets=trip, triplet_mask=trip_mask, three_body=with_triplets,
        short_capacity=0, short_slots=0, short_triplets=0)
    return short, overflow


def _short_triplets(center, mask, n_atoms: int, slots: int, capacity: int):
    """Triplets of a centre-sorted edge list: (`[capacity, 2]` edge pairs, mask, overflow flag).

    Each atom's edges go into a row of ``slots``; every pair of filled slots is a triplet, compacted
    in order into ``capacity`` entries (:func:`ffdiff.cell_list.compact`).
    """
    count = jax.ops.segment_sum(mask.astype(jnp.int32), center, num_segments=n_atoms)
    edge = jnp.arange(center.shape[0], dtype=jnp.int32)
    place = edge - (jnp.cumsum(count) - count)[center]  # rank of the edge among its centre's edges
    row = jnp.where(mask & (place < slots), center, n_atoms)  # padding and overflow: dropped
    table = jnp.zeros((n_atoms, slots), jnp.int32).at[row, place].set(edge, mode="drop")
    a, b = (jnp.asarray(x) for x in np.triu_indices(slots, k=1))
    index, n_trip = cell_list.compact((b[None, :] < count[:, None]).ravel(), capacity)
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
                                   min(neighbors.capacity[0], _round_capacity(n_edges, multiplier)))}
    if neighbors.short_slots:
        grown.update(short_slots=max(neighbors.short_slots, most + _SLOT_MARGIN),
                     short_triplets=max(neighbors.short_triplets, _round_capacity(n_trip, multiplier)))
    return dataclasses.replace(neighbors, **grown)


def perpendicular_widths(box) -> np.ndarray:
    """`[3]` distances in Å between opposite faces of the `[3, 3]` cell (rows are lattice vectors)."""
    box = np.asarray(box, dtype=np.float64)
    volume = abs(np.linalg.det(box))
    return np.array([volume / np.linalg.norm(np.cross(box[(i + 1) % 3], box[(i + 2) % 3])) for i in range(3)])


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
    _check_cell(box, (True, True, True))
    half_width = 0.5 * float(np.min(perpendicular_widths(box)))
    if cutoff > half_width:
        raise StructureError(f"all_pairs needs cutoff <= half the smallest cell width ({half_width:.3f} Å), "
                             f"got {cutoff} Å; use a larger cell or a host-built list")
    i, j = np.nonzero(~np.eye(n_atoms, dtype=bool))
    nbrs = NeighborList(  # made by numpy and counted on the host: no op-sized compilations
        center=_device(i, np.int32), neighbor=_device(j, np.int32), shift=_device(np.zeros((len(i), 3)), np.float64),
        edge_mask=_device(np.ones(len(i)), bool), triplets=_device(np.zeros((1, 2)), np.int32),
        triplet_mask=_device(np.zeros(1), bool), reference_position=_device(np.zeros((n_atoms, 3)), np.float64),
        cutoff=float(half_width), skin=math.inf, pbc=(True, True, True), three_body=False, minimum_image=True)
    if position is None:
        return nbrs
    starts = np.asarray(position, dtype=np.float64).reshape(-1, n_atoms, 3)
    inside = max(len(_pairs(start, box, (True, True, True), cutoff)[0]) for start in starts)
    return dataclasses.replace(nbrs, short_capacity=min(len(i), _round_capacity(inside, short_multiplier)))
