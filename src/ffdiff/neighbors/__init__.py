"""Periodic neighbour lists as padded edge and triplet lists.

A list stores, for every ordered pair (i, j) closer than ``cutoff + skin``, the integer image shift
``S`` with ``r_ij = position[j] - position[i] + S @ box``. Because the image is explicit, cells
narrower than twice the cutoff (the 8-atom diamond cell) are handled exactly, and the energy stays a
smooth function of both positions and box, which is what stress and elastic constants need.
Three-body terms run over *triplets*: pairs of edges (e1, e2), e1 < e2, that share their centre atom.

The kinds of list, one module each:

- :mod:`~ffdiff.neighbors.build`: built on the host at padded capacities (:func:`neighbor_list`,
  :func:`update`);
- :mod:`~ffdiff.neighbors.short`: the edges inside the interaction range, compacted at every
  evaluation inside ``jit`` (:func:`short_list`), sized again after an overflow (:func:`grow_short`);
- :mod:`~ffdiff.neighbors.rebuild`: renewed inside ``jit`` from the list's cell grid
  (:mod:`~ffdiff.neighbors.cells`) at the same capacities (:func:`rebuild`, :func:`refresh`);
- :mod:`~ffdiff.neighbors.minimum_image`: every pair, its image chosen afresh (:func:`all_pairs`).

All of them report running out of room the same way (:mod:`~ffdiff.neighbors.overflow`).
"""

from ffdiff.neighbors.build import neighbor_list, update
from ffdiff.neighbors.cells import perpendicular_widths
from ffdiff.neighbors.lists import NeighborList, edge_vectors, needs_update
from ffdiff.neighbors.minimum_image import all_pairs
from ffdiff.neighbors.overflow import check_room, guard
from ffdiff.neighbors.rebuild import rebuild, refresh
from ffdiff.neighbors.short import grow_short, on_short_list, short_list, short_overflow

__all__ = ["NeighborList", "all_pairs", "check_room", "edge_vectors", "grow_short", "guard", "needs_update",
           "neighbor_list", "on_short_list", "perpendicular_widths", "rebuild", "refresh", "short_list", "short_overflow", "update"]
