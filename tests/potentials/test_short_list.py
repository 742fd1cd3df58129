"""SW from per-atom moments over a per-step short list equals the direct triplet sum; a short list
that overflows is reported and makes the energy NaN."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff import get_potential, neighbor_list
from ffdiff.exceptions import NeighborListOverflowError
from ffdiff.neighbors import short_list, short_overflow
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
        full = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(PARAMS), skin=0.5, capacity=(2048, 16384))
        short = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(PARAMS), skin=0.5, triplets=False,
                              capacity=(2048, 1), short=768)
        assert short.short_capacity < full.n_edges  # the short list really is shorter
        _assert_same(atoms, full, full)  # moments over the full list
        _assert_same(atoms, short, full)  # moments over the short list


def test_short_list_keeps_the_edges_inside_in_order(structures):
    atoms = structures["liquid64"]
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(PARAMS), skin=0.5, short=True)
    x, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    short, overflow = short_list(nbrs, x, box, SW.cutoff(PARAMS))
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
    fresh = neighbor_list(dense.positions, dense.cell.array, cutoff, skin=0.5, short=True)
    tight = dataclasses.replace(fresh, short_capacity=loose.short_capacity)
    n_inside, overflow = short_overflow(tight, jnp.asarray(dense.positions), jnp.asarray(dense.cell.array))
    assert bool(overflow) and int(n_inside) > tight.short_capacity
    e, f, stress = _efs(jnp.asarray(dense.positions), jnp.asarray(dense.cell.array), tight)
    assert np.isnan(float(e)) and np.isnan(np.asarray(f)).all() and np.isnan(np.asarray(stress)).all()
    _assert_same(dense, fresh, fresh)
