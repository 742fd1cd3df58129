"""Neighbour lists rebuilt inside jit by the cell-list search, against the host's search (vesin, itself
checked against ASE in test_neighbors)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

from ffdiff.neighbors import cells as cell_list
from ffdiff.neighbors import neighbor_list, rebuild, refresh

CUTOFF, SKIN = 3.77118, 0.5
_rebuild = jax.jit(rebuild)


@pytest.mark.parametrize("length", [32, 4099])  # one whole word; many words and a partial one
@pytest.mark.parametrize("density", [0.0, 0.06, 1.0])
def test_compact_equals_nonzero(length, density):
    mask = np.random.default_rng(length).random(length) < density
    want = np.flatnonzero(mask)
    for capacity in (max(len(want) // 2, 1), len(want) + 40):
        index, count = jax.jit(cell_list.compact, static_argnums=1)(jnp.asarray(mask), capacity)
        assert int(count) == len(want)
        n = min(capacity, len(want))
        np.testing.assert_array_equal(np.asarray(index)[:n], want[:n])


def _edges(nbrs):
    m = np.asarray(nbrs.edge_mask)
    return sorted(zip(np.asarray(nbrs.center)[m].tolist(), np.asarray(nbrs.neighbor)[m].tolist(),
                      map(tuple, np.asarray(nbrs.shift)[m].astype(int).tolist())))


def _triplets(nbrs):
    """Triplets as pairs of (i, j, S) edges, independent of the edges' order."""
    edge = list(zip(np.asarray(nbrs.center).tolist(), np.asarray(nbrs.neighbor).tolist(),
                    map(tuple, np.asarray(nbrs.shift).astype(int).tolist())))
    trip = np.asarray(nbrs.triplets)[np.asarray(nbrs.triplet_mask)]
    return sorted(tuple(sorted((edge[a], edge[b]))) for a, b in trip)


def _structure(name):
    if name == "primitive":  # 2 atoms, faces 3.1 Å apart: a one-cell search across 2 images each way
        return bulk("Si", "diamond", a=5.431)
    if name == "cubic-64":  # one cell, nearest image (faces 10.9 Å apart > 2 × 4.27 Å)
        return bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    if name == "cubic-512":  # 5 × 5 × 5 cells
        return bulk("Si", "diamond", a=5.431, cubic=True).repeat(4)
    if name == "thin-128":  # 5.4 Å thick: one cell and its images 1 width away, beside 5 × 5 cells
        return bulk("Si", "diamond", a=5.431, cubic=True).repeat((1, 4, 4))
    return bulk("Si", "diamond", a=5.431).repeat((3, 3, 6))  # triclinic; see the "mixed" layout below


@pytest.mark.parametrize(("name", "triplets"), [("primitive", True), ("cubic-64", True), ("cubic-512", False),
                                                ("cubic-512", True), ("thin-128", True), ("triclinic-mixed", True)])
def test_rebuild_inside_jit_equals_the_host_list(name, triplets):
    """Moved atoms (0.15 Å noise, some by whole cell vectors): the list found inside jit has exactly the
    host's (i, j, S) edges and triplets, for every kind of layout the search has."""
    atoms = _structure(name)
    atoms.rattle(0.05, seed=0)
    box = atoms.cell.array
    nbrs = neighbor_list(atoms.positions, box, CUTOFF, skin=SKIN, triplets=triplets, grid=True, capacity_multiplier=1.5)
    if name == "triclinic-mixed":  # cells along the long vector, nearest image along the two others
        layout = cell_list._layout(np.array([1, 1, 3]), atoms.positions, box, CUTOFF + SKIN,
                                   np.array([9.4, 9.4, 18.8]), 1.25)
        assert layout.reach == (0, 0, 1) and layout.cells == (1, 1, 3)
        nbrs = dataclasses.replace(nbrs, grid=dataclasses.replace(layout, slots=nbrs.grid.slots))
    if name == "thin-128":
        assert nbrs.grid.cells == (1, 5, 5) and nbrs.grid.reach == (1, 1, 1)
    rng = np.random.default_rng(1)
    moved = atoms.positions + rng.normal(0.0, 0.15, atoms.positions.shape)
    moved += rng.integers(-2, 3, (len(atoms), 1)) * box[rng.integers(0, 3)]
    found, overflow = _rebuild(nbrs, jnp.asarray(moved), jnp.asarray(box))
    host = neighbor_list(moved, box, CUTOFF, skin=SKIN, triplets=triplets)
    assert not bool(overflow)
    assert _edges(found) == _edges(host) and len(_edges(host)) > 4 * len(atoms)
    if triplets:
        assert _triplets(found) == _triplets(host)
    np.testing.assert_array_equal(np.asarray(found.reference_position), moved)
    assert found.capacity == nbrs.capacity


def test_rebuild_reports_every_overflow():
    """A full cell, too many edges (a compressed crystal) and too many neighbours to pair into triplets
    each raise the flag."""
    # the list of the "cubic-512" case above, whose compiled search this shares
    atoms = _structure("cubic-512")
    atoms.rattle(0.05, seed=0)
    box = jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(atoms.positions, box, CUTOFF, skin=SKIN, triplets=True, grid=True, capacity_multiplier=1.5)
    position = jnp.asarray(atoms.positions)
    assert not bool(_rebuild(nbrs, position, box)[1])
    small_cells = dataclasses.replace(nbrs, grid=dataclasses.replace(nbrs.grid, cell_capacity=2))
    assert bool(_rebuild(small_cells, position, box)[1])
    few_slots = dataclasses.replace(nbrs, grid=dataclasses.replace(nbrs.grid, slots=3))
    assert bool(_rebuild(few_slots, position, box)[1])
    dense = jnp.asarray(atoms.positions * 0.9)
    assert bool(_rebuild(nbrs, dense, box * 0.9)[1])


def test_refresh_rebuilds_only_a_stale_list():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    box = jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(atoms.positions, box, CUTOFF, skin=SKIN, grid=True)
    for move, stale in ((0.2, False), (0.3, True)):  # half the skin is 0.25 Å
        position = jnp.asarray(atoms.positions).at[5, 0].add(move)
        kept, rebuilt, overflow = jax.jit(refresh)(nbrs, position, box)
        assert bool(rebuilt) is stale and not bool(overflow)
        reference = position if stale else atoms.positions
        np.testing.assert_array_equal(np.asarray(kept.reference_position), reference)


def test_only_periodic_cells_get_a_grid():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    assert neighbor_list(atoms.positions, atoms.cell.array, CUTOFF, skin=SKIN, grid=True).grid is not None
    slab = neighbor_list(atoms.positions, atoms.cell.array, CUTOFF, skin=SKIN, grid=True, pbc=(True, True, False))
    assert slab.grid is None
    with pytest.raises(ValueError, match="no cell grid"):
        rebuild(slab, jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array))


@pytest.mark.parametrize("skin", [0.5, 1.0])
def test_small_systems_are_searched_as_one_cell(skin):
    """Diamond Si at the SW range: up to 216 atoms one cell (each pair's nearest image), from 1728 atoms
    the 27 cells around each atom, whichever visits fewer candidates (as the module says)."""
    from ffdiff.neighbors import perpendicular_widths

    def layout(repeat):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
        box = atoms.cell.array
        return cell_list.cell_grid(atoms.positions, box, CUTOFF + skin, perpendicular_widths(box))

    for repeat in (2, 3):
        assert layout(repeat).cells == (1, 1, 1) and layout(repeat).reach == (0, 0, 0)
    large = layout(6)
    assert min(large.cells) >= 3 and large.reach == (1, 1, 1)
