"""The one way a list says it ran out of room.

Every list has fixed capacities (so compiled programs do not change with the counts), and every
kind of list (the host-built one, its per-evaluation short list with triplets, one rebuilt inside
``jit`` from the cell grid) compares what it needs with what it was allocated:

- inside ``jit`` the comparison is a flag returned next to the list, ``(list, overflow)``; an energy
  computed from such a list passes through :func:`guard`, so an overflow makes the energy, forces,
  stress and every parameter gradient NaN, never a sum short of terms; the MD driver reads the same
  flag (:func:`ffdiff.neighbors.short_overflow`, :func:`ffdiff.neighbors.refresh`) and re-allocates
  on the host;
- on the host, where a caller fixed the capacities, :func:`check_room` raises
  :class:`~ffdiff.exceptions.NeighborListOverflowError` with what was needed and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

from ffdiff.exceptions import NeighborListOverflowError


def guard(energy, overflow):
    """``energy`` where the list fitted, NaN (with NaN derivatives) where it overflowed.

    A factor, not a ``where``: forces and stress must be NaN too, not zero."""
    return energy * jnp.where(overflow, jnp.nan, 1.0)


def check_room(what: str, needed: Mapping[str, int], allocated: Mapping[str, int], remedy: str) -> None:
    """Raise :class:`NeighborListOverflowError` if any count in ``needed`` exceeds its ``allocated`` one.

    Args:
        what: the list, as the message names it ("neighbour list", "short list").
        needed: counts the configuration needs, by name ("edges", "triplets", ...).
        allocated: the capacities, same names.
        remedy: how to re-allocate (the argument to pass).
    """
    if any(needed[name] > allocated[name] for name in needed):
        counts = " and ".join(f"{needed[name]} {name}" for name in needed)
        room = " and ".join(str(allocated[name]) for name in needed)
        raise NeighborListOverflowError(f"{what} needs {counts}, allocated {room}; re-allocate with {remedy}")
