"""jax-md's EnergyGraphNet on ffdiff lists: equal to jax-md's own neighbour-list energy, forces = -∇E,
weight gradients, float32, lists with skins and short lists, the per-atom offset."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

from ffdiff import neighbor_list
from ffdiff.neighbors import all_pairs
from ffdiff.potentials import graph_network as gn

CONFIG = gn.EnergyGraphNetConfig()  # the paper's architecture: 2 recurrences, (64, 64) softplus MLPs
KEY = 3

_energy_and_grad = jax.jit(jax.value_and_grad(gn.energy, argnums=1), static_argnums=4)
_energy = jax.jit(gn.energy, static_argnums=4)
_grad_params = jax.jit(jax.grad(gn.energy), static_argnums=4)


def _energy64(params, position, box, nbrs):
    """The float64 energy from the program that also gives the forces (compiled once per list shape)."""
    return _energy_and_grad(params, position, box, nbrs, CONFIG)[0]


def rattled(repeat, seed=11, stdev=0.1):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(repeat)
    atoms.positions += np.random.default_rng(seed).normal(scale=stdev, size=atoms.positions.shape)
    return atoms


def nbrs_of(atoms, skin=0.5, **kw):
    return neighbor_list(atoms.positions, atoms.cell.array, CONFIG.cutoff, skin=skin, triplets=False, **kw)


def jax_md_model(key=KEY, box=None, dr_threshold=0.0):
    """jax-md's own (neighbor_fn, energy_fn) in fractional coordinates of ``box`` (rows)."""
    from jax_md import energy, space

    box = jnp.asarray(box).T  # jax-md: lattice vectors as columns
    displacement, _ = space.periodic_general(box, fractional_coordinates=True)
    return energy.graph_network_neighbor_list(displacement, box, CONFIG.cutoff, dr_threshold, key=jax.random.key(key),
                                              fractional_coordinates=True)


@pytest.fixture(scope="module")
def params():
    """jax-md's initial weights for KEY with every leaf perturbed (the biases start at zero, which
    would leave them untested), as float64."""
    _, energy_fn = jax_md_model(box=np.eye(3) * 10.86)
    p = gn.from_module(energy_fn.model, dtype=jnp.float64)
    rng = np.random.default_rng(9)  # numpy: no compilation per leaf shape
    net = jax.tree.map(lambda x: jnp.asarray(np.asarray(x) * (1 + 0.2 * rng.normal(size=x.shape))
                                             + 0.05 * rng.normal(size=x.shape)), p["net"])
    return {"net": net, "e0": jnp.asarray(0.0)}


def jax_md_energy_forces(params, atoms, dr_threshold=0.0):
    """jax-md's energy and forces with our weights loaded into its module (nnx.update)."""
    from flax import nnx

    neighbor_fn, energy_fn = jax_md_model(box=atoms.cell.array, dr_threshold=dr_threshold)
    nnx.update(energy_fn.model, nnx.state(gn.to_module(params, CONFIG)))
    frac = jnp.asarray(atoms.get_scaled_positions(wrap=True))
    nbrs = neighbor_fn.allocate(frac)
    e, g = jax.jit(jax.value_and_grad(energy_fn))(frac, nbrs)
    assert not nbrs.did_buffer_overflow
    # periodic_general's custom derivative makes the gradient with respect to fractional coordinates
    # the real-space one (checked against finite differences of E(fractional) while writing this test)
    return float(e), -np.asarray(g)


def test_init_params_are_jax_mds_initial_weights():
    """init_params(key, zero_output=False) = the weights jax-md's graph_network_neighbor_list(key=key)
    starts from (bitwise, float32), 194 177 of them, in jax-md's module layout; by default the decoder's
    output layer starts at zero, so the energy starts at N e0."""
    from flax import nnx

    _, energy_fn = jax_md_model(box=np.eye(3) * 10.86)
    theirs = nnx.to_pure_dict(nnx.state(energy_fn.model, nnx.Param))
    ours = gn.init_params(jax.random.key(KEY), CONFIG, jnp.float32, energy_per_atom=-4.6, zero_output=False)
    assert jax.tree.structure(ours["net"]) == jax.tree.structure(theirs)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), ours["net"], theirs)
    assert sum(x.size for x in jax.tree.leaves(ours["net"])) == 194177
    assert float(ours["e0"]) == pytest.approx(-4.6)

    start = gn.init_params(jax.random.key(KEY), CONFIG, jnp.float32, energy_per_atom=-4.6)
    atoms = rattled(2)
    nbrs = nbrs_of(atoms)
    e = _energy(start, atoms.positions.astype(np.float32), atoms.cell.array.astype(np.float32),
                dataclasses.replace(nbrs, shift=nbrs.shift.astype(np.float32)), CONFIG)
    assert float(e) == pytest.approx(-4.6 * 64, rel=1e-6)
    output = start["net"]["GlobalDecoder"].pop("layers_2")
    assert not any(np.any(np.asarray(x)) for x in jax.tree.leaves(output))
    del theirs["GlobalDecoder"]["layers_2"]
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), start["net"], theirs)


@pytest.mark.parametrize("repeat", [2, 3])
def test_energy_and_forces_equal_jax_mds_own(params, repeat):
    """64- and 216-atom rattled diamond (jax-md: brute-force and cell-list neighbour search): energy and
    forces equal jax-md's graph_network_neighbor_list with periodic_general to 1e-10 relative (float64),
    for ffdiff lists with and without skin and with a short list, and jax-md's thresholded variant."""
    atoms = rattled(repeat)
    position, box = atoms.positions, atoms.cell.array
    e_ref, f_ref = jax_md_energy_forces(params, atoms)
    lists = {"short list": nbrs_of(atoms, skin=1.0, short=True)}
    if repeat == 2:  # every list kind once; the 216-atom cell (jax-md's cell-list search) with one
        # The skin list has the shape of the lists of the tests below, and the list without skin is
        # padded to it: the three share one compiled program.
        lists["skin 0.5 Å"] = nbrs_of(atoms)
        lists["no skin"] = nbrs_of(atoms, skin=0.0, capacity=lists["skin 0.5 Å"].capacity)
        assert lists["skin 0.5 Å"].n_edges > 2 * lists["no skin"].n_edges
    assert lists["short list"].short_capacity
    scale = np.abs(f_ref).max()
    assert abs(e_ref) > 1.0 and scale > 1e-2  # not vacuous
    for name, nbrs in lists.items():
        e, g = _energy_and_grad(params, position, box, nbrs, CONFIG)
        assert float(e) == pytest.approx(e_ref, rel=1e-10, abs=0), name
        np.testing.assert_allclose(-np.asarray(g), f_ref, rtol=0, atol=1e-10 * scale, err_msg=name)
    if repeat == 2:  # jax-md with dr_threshold > 0 masks by r² < r_c² + 1e-5 and re-orders its edges
        e_thr, f_thr = jax_md_energy_forces(params, atoms, dr_threshold=0.5)
        assert e_thr == pytest.approx(e_ref, rel=1e-10, abs=0)
        np.testing.assert_allclose(f_thr, f_ref, rtol=0, atol=1e-10 * scale)


def test_forces_match_finite_differences(params):
    """-∇E equals central differences (h = 1e-4 Å, no pair within 10 h of the hard cutoff), 1e-6 of the
    largest force."""
    atoms = rattled(2, seed=22)
    position, box = atoms.positions, atoms.cell.array
    nbrs = nbrs_of(atoms)
    d = atoms.get_all_distances(mic=True)
    h = 1e-4
    assert np.min(np.abs(d - CONFIG.cutoff)) > 10 * h  # no pair crosses r_c in the differences
    e, g = _energy_and_grad(params, position, box, nbrs, CONFIG)
    forces = -np.asarray(g)
    scale = np.abs(forces).max()
    rng = np.random.default_rng(0)
    for atom, axis in zip(rng.choice(len(atoms), 6, replace=False), rng.integers(0, 3, 6), strict=True):
        plus, minus = position.copy(), position.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        fd = -(float(_energy64(params, plus, box, nbrs)) - float(_energy64(params, minus, box, nbrs))) / (2 * h)
        assert abs(fd - forces[atom, axis]) < 1e-6 * scale, (atom, axis, fd, forces[atom, axis])
    assert np.abs(forces.sum(axis=0)).max() < 1e-9 * scale  # translation invariance: no net force


def test_gradient_reaches_every_weight(params):
    """jax.grad in the weights is finite everywhere and non-zero on every leaf except the first-layer
    kernels of the node and global encoders, which multiply jax-md's all-zero node and global inputs
    (exactly zero gradient, by construction of the model)."""
    atoms = rattled(2)
    grads = _grad_params({**params, "e0": jnp.asarray(-4.6)}, atoms.positions, atoms.cell.array, nbrs_of(atoms),
                         CONFIG)
    assert float(grads["e0"]) == pytest.approx(64.0)
    flat = {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_flatten_with_path(grads["net"])[0]}
    assert all(np.all(np.isfinite(v)) for v in flat.values())
    dead = {k for k, v in flat.items() if not np.any(v)}
    assert dead == {"['GraphNetEncoder']['NodeEncoder']['layers_0']['kernel']",
                    "['GraphNetEncoder']['GlobalEncoder']['layers_0']['kernel']"}


def test_offset_float32_and_all_pairs(params):
    """E(e0) = E(0) + N e0; float32 weights give a float32 energy within 1e-4 relative of float64; the
    minimum-image all-pairs list with a short list (the RDF fine-tuning's) gives the same energy."""
    atoms = rattled(2)
    position, box = atoms.positions, atoms.cell.array
    nbrs = nbrs_of(atoms)
    e = float(_energy64(params, position, box, nbrs))
    shifted = float(_energy64({**params, "e0": jnp.asarray(-4.5)}, position, box, nbrs))
    assert shifted == pytest.approx(e - 4.5 * 64, rel=1e-12)

    p32 = jax.tree.map(lambda x: x.astype(jnp.float32), params)
    nbrs32 = dataclasses.replace(nbrs, shift=nbrs.shift.astype(jnp.float32))
    e32 = _energy(p32, position.astype(np.float32), box.astype(np.float32), nbrs32, CONFIG)
    assert e32.dtype == jnp.float32 and float(e32) == pytest.approx(e, rel=1e-4)

    pairs = all_pairs(len(atoms), box, CONFIG.cutoff, position=position)
    assert pairs.short_capacity
    assert float(_energy(params, position, box, pairs, CONFIG)) == pytest.approx(e, rel=1e-10, abs=0)


def test_potential_record_and_config():
    pot = gn.potential(gn.EnergyGraphNetConfig(mlp_sizes=[8, 8], n_recurrences=1), seed=1)
    assert (pot.name, pot.three_body, pot.triplets, pot.cutoff(None)) == ("energy_graph_net", False, False, 3.77)
    assert pot.config.mlp_sizes == (8, 8) and hash(pot.config) == hash(gn.EnergyGraphNetConfig(mlp_sizes=(8, 8),
                                                                                             n_recurrences=1))
    with pytest.raises(ValueError, match="expects a complete weight tree"):
        pot.params({"net": {}, "e0": 0.0})
    with pytest.raises(ValueError, match="activation"):
        gn.EnergyGraphNetConfig(activation="swish")
    with pytest.raises(ValueError, match="cutoff > 0"):
        gn.EnergyGraphNetConfig(cutoff=-1.0)
