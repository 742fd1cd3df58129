"""Neighbour lists against brute-force enumeration of periodic images."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

from ffdiff.exceptions import NeighborListOverflowError, StructureError
from ffdiff.neighbors import edge_vectors, grow_short, needs_update, neighbor_list, update


def _brute_force(position, box, cutoff, images=4):
    pairs = set()
    for i, j in itertools.product(range(len(position)), repeat=2):
        for s in itertools.product(range(-images, images + 1), repeat=3):
            d = position[j] - position[i] + np.array(s) @ box
            if (i != j or any(s)) and np.linalg.norm(d) < cutoff:
                pairs.add((i, j, *s))
    return pairs


def _listed(nbrs):
    m = np.asarray(nbrs.edge_mask)
    return {(int(i), int(j), *map(int, s)) for i, j, s in
            zip(np.asarray(nbrs.center)[m], np.asarray(nbrs.neighbor)[m], np.asarray(nbrs.shift)[m])}


def test_narrow_triclinic_cell_lists_every_image():
    atoms = bulk("Si", "diamond", a=5.431)  # primitive cell, planes 3.1 Å apart: < cutoff
    atoms.rattle(0.05, seed=0)
    atoms.positions += 7.0  # outside the cell: shifts must still reproduce true vectors
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, 3.77118)
    assert _listed(nbrs) == _brute_force(atoms.positions, atoms.cell.array, 3.77118)
    d = np.asarray(edge_vectors(jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array), nbrs))
    assert np.all(np.linalg.norm(d[np.asarray(nbrs.edge_mask)], axis=1) < 3.77118)


@pytest.mark.parametrize("case", ["primitive-outside", "triclinic-rattled", "slab", "molecule"])
def test_host_list_equals_ase(case):
    """The host search (vesin) lists exactly ASE's pairs and images, in narrow, triclinic, partly
    periodic and open cells, with positions outside the cell."""
    from ase.build import molecule
    from ase.neighborlist import primitive_neighbor_list

    rng = np.random.default_rng(4)
    pbc, cutoff = (True, True, True), 4.27
    if case == "primitive-outside":  # images up to 3 cells away
        atoms = bulk("Si", "diamond", a=5.431)
        atoms.positions += 7.0
        cutoff = 9.0
    elif case == "triclinic-rattled":
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
        atoms.set_cell(atoms.cell.array + [[0, 0, 0], [1.3, 0, 0], [0.4, -0.8, 0]], scale_atoms=False)
    elif case == "slab":
        atoms, pbc = bulk("Si", "diamond", a=5.431, cubic=True).repeat((2, 2, 1)), (True, False, True)
        atoms.positions[:, 1] += 20.0  # far outside the non-periodic direction's cell
    else:
        atoms, pbc, cutoff = molecule("C6H6"), (False, False, False), 2.5
    atoms.positions += rng.normal(0.0, 0.1, atoms.positions.shape)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, cutoff, pbc=pbc, triplets=False)
    i, j, s = primitive_neighbor_list("ijS", pbc, atoms.cell.array, atoms.positions, cutoff,
                                      self_interaction=False)
    expected = {(int(a), int(b), *map(int, c)) for a, b, c in zip(i, j, s, strict=True)}
    assert len(expected) > len(atoms) and _listed(nbrs) == expected and nbrs.n_edges == len(i)  # no duplicates
    assert np.all(np.diff(np.asarray(nbrs.center)[np.asarray(nbrs.edge_mask)]) >= 0)  # centre-sorted


def test_host_list_without_pairs():
    nbrs = neighbor_list(np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]), np.eye(3) * 20.0, 3.0)
    assert nbrs.n_edges == 0 and nbrs.capacity == (32, 32) and not np.asarray(nbrs.triplet_mask).any()


def test_triplets_pair_edges_of_one_centre():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, 2.5)
    assert nbrs.n_edges == 8 * 4
    trip = np.asarray(nbrs.triplets)[np.asarray(nbrs.triplet_mask)]
    assert len(trip) == 8 * 6  # 4 bonds -> 6 angles per atom
    centre = np.asarray(nbrs.center)
    assert np.all(centre[trip[:, 0]] == centre[trip[:, 1]]) and np.all(trip[:, 0] < trip[:, 1])


def test_update_keeps_capacity_and_detects_overflow():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, 3.0, skin=0.5, capacity_multiplier=1.0)
    moved = atoms.positions + 0.3
    assert bool(needs_update(nbrs, jnp.asarray(moved)))
    assert not bool(needs_update(nbrs, jnp.asarray(atoms.positions + 0.1)))
    assert update(nbrs, moved, atoms.cell.array).capacity == nbrs.capacity
    dense = atoms.copy()
    dense.set_cell(atoms.cell * 0.8, scale_atoms=True)
    with pytest.raises(NeighborListOverflowError, match="re-allocate"):
        update(nbrs, dense.positions, dense.cell.array)


def test_grow_short_keeps_the_head_room_it_is_given():
    """Diamond, 64 atoms, r_c = 3.77 Å: 256 pairs inside, 1792 listed with a 1 Å skin. A short list sized
    with 1.1 head room, then grown after an overflow, gets 1.1 times what it needs (rounded up to 32),
    twice by default; never fewer slots than it had, never more than the listed capacity."""
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, 3.77, skin=1.0, triplets=False, short=True,
                         short_multiplier=1.1)
    assert (nbrs.n_edges, nbrs.short_capacity) == (1792, 288)  # 256 × 1.1 = 281.6
    assert grow_short(nbrs, (300, 5, 0), 1.1).short_capacity == 352  # 330
    assert grow_short(nbrs, (300, 5, 0)).short_capacity == 608  # 600
    assert grow_short(nbrs, (200, 5, 0), 1.1).short_capacity == 288
    assert grow_short(nbrs, (3000, 5, 0), 1.1).short_capacity == nbrs.capacity[0]


def test_bad_cells_are_refused():
    with pytest.raises(StructureError, match="zero volume"):
        neighbor_list(np.zeros((1, 3)), np.zeros((3, 3)), 3.0)
    with pytest.raises(StructureError, match="cutoff > 0"):
        neighbor_list(np.zeros((1, 3)), np.eye(3) * 5, -1.0)


def test_all_pairs_list_equals_the_host_list_at_any_positions():
    """The minimum-image all-pairs list gives the MPGNN the same energy and forces as a freshly built
    host list, also after atoms moved far (it never goes stale), and refuses cells that are too small."""
    import jax

    from ffdiff.neighbors import all_pairs
    from ffdiff.potentials import mpgnn

    pot = mpgnn.potential(mpgnn.MPGNNConfig(n_basis=4, features=8, n_steps=2, hidden=16))
    params = pot.params()
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    dense = all_pairs(len(atoms), atoms.cell.array, pot.cutoff(params))
    value_and_grad = jax.jit(jax.value_and_grad(pot.energy, argnums=1))
    rng = np.random.default_rng(1)
    for stdev in (0.05, 2.0):  # 2 Å: far beyond any skin, atoms leave the cell
        position = atoms.positions + rng.normal(0.0, stdev, atoms.positions.shape)
        # padded to one capacity (the all-pairs list's), so that one compilation serves both positions
        fresh = neighbor_list(position, atoms.cell.array, pot.cutoff(params), triplets=False, capacity=dense.capacity)
        e_dense, g_dense = value_and_grad(params, jnp.asarray(position), jnp.asarray(atoms.cell.array), dense)
        e_host, g_host = value_and_grad(params, jnp.asarray(position), jnp.asarray(atoms.cell.array), fresh)
        assert float(e_dense) == pytest.approx(float(e_host), abs=1e-11)
        np.testing.assert_allclose(g_dense, g_host, atol=1e-11)
    with pytest.raises(StructureError, match="half the smallest cell width"):
        all_pairs(8, bulk("Si", "diamond", a=5.431, cubic=True).cell.array, 3.77)
