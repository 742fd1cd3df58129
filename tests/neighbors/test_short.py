"""SW from per-atom moments over a per-step short list equals the direct triplet sum, and EDIP and
Tersoff over the short list's own triplets equal themselves over the listed ones; a short list that overflows (edges,
one atom's slots or triplets) is reported and makes the energy NaN."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff import get_potential, neighbor_list
from ffdiff.exceptions import NeighborListOverflowError
from ffdiff.neighbors import grow_short, short_list, short_overflow
from ffdiff.potentials import stillinger_weber
from ffdiff.properties.static import energy_forces_stress

SW = get_potential("sw")
PARAMS = SW.params()


@jax.jit
def _efs(position, box, nbrs):
    return energy_forces_stress(stillinger_weber.energy, PARAMS, position, box, nbrs)


@jax.jit
def _efs_triplets(position, box, nbrs):
    return energy_forces_stress(stillinger_weber.energy_triplets, PARAMS, position, box, nbrs)


# Compiled: run op by op, they would compile each of their operations again for every new list shape.
_short_list = jax.jit(short_list)
_short_overflow = jax.jit(short_overflow)

# One padded shape for the 64-atom cells of the SW tests, so that one compilation serves them all.
CAPACITY = (2048, 16384)


def _assert_same(atoms, nbrs, reference):
    x, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    ours = _efs(x, box, nbrs)
    theirs = _efs_triplets(x, box, reference)
    assert abs(float(ours[0]) - float(theirs[0])) / len(atoms) <= 1e-10
    np.testing.assert_allclose(ours[1], theirs[1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=0, atol=1e-10)


def test_moments_and_short_list_equal_triplet_sum(structures):
    """Crystal, sheared, strongly rattled, liquid and amorphous 64-atom cells, padded to one capacity
    so that one compilation serves them all."""
    for name in ("diamond64", "triclinic64", "rattled0.30", "liquid64", "amorphous64"):
        atoms = structures[name]
        full = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(PARAMS), skin=0.5, capacity=CAPACITY)
        short = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(PARAMS), skin=0.5, triplets=False,
                              capacity=(CAPACITY[0], 1), short=768)
        assert short.short_capacity < full.n_edges  # the short list really is shorter
        _assert_same(atoms, full, full)  # moments over the full list
        _assert_same(atoms, short, full)  # moments over the short list


def test_short_list_keeps_the_edges_inside_in_order(structures):
    atoms = structures["liquid64"]
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(PARAMS), skin=0.5, short=768)
    x, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    short, overflow = _short_list(nbrs, x, box, SW.cutoff(PARAMS))
    r = np.linalg.norm(np.asarray(x[nbrs.neighbor] - x[nbrs.center] + nbrs.shift @ box), axis=1)
    inside = np.flatnonzero(np.asarray(nbrs.edge_mask) & (r < SW.cutoff(PARAMS)))
    m = np.asarray(short.edge_mask)
    assert not bool(overflow) and m.sum() == len(inside)
    np.testing.assert_array_equal(np.asarray(short.center)[m], np.asarray(nbrs.center)[inside])
    np.testing.assert_array_equal(np.asarray(short.neighbor)[m], np.asarray(nbrs.neighbor)[inside])


def test_short_list_overflow_is_detected_never_truncated(structures):
    """Compressing the liquid by 6 % pulls more pairs inside the cutoff than the short list built for
    it holds: rebuilding with that capacity raises, and a list that overflows in flight gives a NaN
    energy, forces and stress (never a sum short of terms) while ``short_overflow`` reports it."""
    atoms = structures["liquid64"]
    cutoff = SW.cutoff(PARAMS)
    loose = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=0.5, short=True, short_multiplier=1.0)
    dense = atoms.copy()
    dense.set_cell(atoms.cell.array * 0.94, scale_atoms=True)
    with pytest.raises(NeighborListOverflowError, match="short list"):
        neighbor_list(dense.positions, dense.cell.array, cutoff, skin=0.5, short=loose.short_capacity)
    # the full list at the shape of the test above (its compiled programs serve the exact reference)
    fresh = neighbor_list(dense.positions, dense.cell.array, cutoff, skin=0.5, capacity=CAPACITY)
    tight = dataclasses.replace(fresh, short_capacity=loose.short_capacity)
    needed, overflow = _short_overflow(tight, jnp.asarray(dense.positions), jnp.asarray(dense.cell.array))
    assert bool(overflow) and int(needed[0]) > tight.short_capacity
    e, f, stress = _efs(jnp.asarray(dense.positions), jnp.asarray(dense.cell.array), tight)
    assert np.isnan(float(e)) and np.isnan(np.asarray(f)).all() and np.isnan(np.asarray(stress)).all()
    _assert_same(dense, fresh, fresh)


EDIP = get_potential("edip")
EDIP_PARAMS = EDIP.params()


@functools.partial(jax.jit, static_argnums=0)
def _triplet_efs(name, position, box, nbrs):
    potential = get_potential(name)
    return energy_forces_stress(potential.energy, potential.params(), position, box, nbrs)


_edip_energy = jax.jit(EDIP.energy)  # the energy alone, which is what the overflow test below checks
TRIPLET_CELLS = ["diamond64", "rattled0.30", "liquid64", "amorphous64"]


@pytest.fixture(scope="module")
def triplet_sizes(structures):
    """Per potential, the largest list and short-list sizes the four cells of the test below need with a
    1 Å skin (the short list with slots for every listed edge): every cell is listed at these, so that
    one compiled program per potential and kind of list serves them all."""
    sizes = {}
    for potential in ("edip", "tersoff"):
        cutoff = get_potential(potential).cutoff(get_potential(potential).params())
        lists = []
        for name in TRIPLET_CELLS:
            atoms = structures[name]
            full = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=1.0)
            lists.append(neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=1.0, short=full.capacity[0]))
        sizes[potential] = {"capacity": tuple(max(n.capacity[k] for n in lists) for k in range(2)),
                            "short_triplets": (max(n.short_slots for n in lists), max(n.short_triplets for n in lists))}
    return sizes


@pytest.mark.parametrize("potential", ["edip", "tersoff"])
@pytest.mark.parametrize("name", TRIPLET_CELLS)
def test_short_list_triplets_equal_listed_triplets(structures, triplet_sizes, potential, name):
    """With a 1 Å skin (16 listed neighbours per atom in diamond, 4 inside EDIP's a = 3.12 Å and
    Tersoff's R + D = 3.2 Å) the short list and its triplets give the energy, forces and stress of the
    full triplet list to 1e-10."""
    atoms = structures[name]
    cutoff = get_potential(potential).cutoff(get_potential(potential).params())
    x, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    capacity = triplet_sizes[potential]["capacity"]
    full = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=1.0, capacity=capacity)
    # slots for every listed edge: the liquid has too many inside for short=True to size a list
    short = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=1.0, capacity=capacity, short=capacity[0],
                          short_triplets=triplet_sizes[potential]["short_triplets"])
    assert short.short_slots
    ours, theirs = _triplet_efs(potential, x, box, short), _triplet_efs(potential, x, box, full)
    assert abs(float(ours[0]) - float(theirs[0])) / len(atoms) <= 1e-10
    np.testing.assert_allclose(ours[1], theirs[1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=0, atol=1e-10)
    reduced, overflow = _short_list(short, x, box, cutoff)
    assert not bool(overflow) and reduced.three_body


def test_edip_short_triplet_overflow_is_nan_and_grows(structures):
    """Too few slots for one atom, or too few triplets, make EDIP NaN; ``grow_short`` with what
    ``short_overflow`` reports restores the exact energy."""
    atoms = structures["amorphous64"]
    x, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    fresh = neighbor_list(atoms.positions, atoms.cell.array, EDIP.cutoff(EDIP_PARAMS), skin=1.0, short=512)
    assert fresh.short_slots
    exact = float(_edip_energy(EDIP_PARAMS, x, box, fresh))
    needed, overflow = _short_overflow(fresh, x, box)
    assert not bool(overflow) and int(needed[1]) <= fresh.short_slots and int(needed[2]) <= fresh.short_triplets
    for tight in (dataclasses.replace(fresh, short_slots=int(needed[1]) - 1),
                  dataclasses.replace(fresh, short_triplets=int(needed[2]) - 1)):
        needed, overflow = _short_overflow(tight, x, box)
        assert bool(overflow) and np.isnan(float(_edip_energy(EDIP_PARAMS, x, box, tight)))
        grown = grow_short(tight, needed)
        assert not bool(_short_overflow(grown, x, box)[1])
        assert float(_edip_energy(EDIP_PARAMS, x, box, grown)) == pytest.approx(exact, abs=1e-9)


def test_short_list_is_sized_only_where_it_pays(structures):
    """Diamond, EDIP: a 1 Å skin lists 16 neighbours and 120 triplets per atom, the short list holds 8
    and 12; a 0.5 Å skin lists only the 4 first-shell neighbours, so no short list is sized."""
    atoms = structures["diamond64"]
    cutoff = EDIP.cutoff(EDIP_PARAMS)
    wide = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=1.0, short=True)
    assert (wide.short_capacity, wide.short_slots, wide.short_triplets) == (8 * 64, 6, 12 * 64)
    assert wide.capacity == (1280, 9600)
    narrow = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=0.5, short=True)
    assert narrow.short_capacity == 0 and narrow.short_slots == 0
