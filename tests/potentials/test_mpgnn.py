"""MPGNN potential: force and parameter-gradient oracles, symmetries, periodic images, smoothness."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

from ffdiff import Calculator, neighbor_list
from ffdiff.potentials import mpgnn
from ffdiff.properties.static import energy_forces_stress, to_voigt

CONFIG = mpgnn.MPGNNConfig()
SKIN = 0.5  # Å: the rattled cells have pairs near r_c; the skin keeps them listed while FD moves atoms

# One compiled function per kind of derivative keeps the file's compile time (most of its run time) low.
_energy_and_grad = jax.jit(jax.value_and_grad(mpgnn.energy, argnums=1), static_argnums=4)
grad_params = jax.jit(jax.grad(mpgnn.energy), static_argnums=4)


def energy_jit(params, position, box, nbrs, config):
    return _energy_and_grad(params, position, box, nbrs, config)[0]


def grad_position(params, position, box, nbrs, config):
    return _energy_and_grad(params, position, box, nbrs, config)[1]


@pytest.fixture(scope="module")
def params():
    return mpgnn.init_params(jax.random.key(7), CONFIG)


def rattled64():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    rng = np.random.default_rng(11)
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    return atoms


def nbrs_of(position, box, skin=SKIN, pbc=True, **kw):
    return neighbor_list(position, box, CONFIG.cutoff, skin=skin, triplets=False, pbc=(pbc,) * 3, **kw)


def e_of(params, position, box, skin=SKIN, pbc=True, **kw):
    position, box = np.asarray(position, dtype=float), np.asarray(box, dtype=float)
    return float(energy_jit(params, position, box, nbrs_of(position, box, skin, pbc, **kw), CONFIG))


def test_forces_match_finite_differences(params):
    """-∇E equals central differences of E, rel 1e-6 of the largest force (float64, h = 1e-4 Å)."""
    atoms = rattled64()
    position, box = atoms.positions, atoms.cell.array
    nbrs = nbrs_of(position, box)
    forces = -np.asarray(grad_position(params, position, box, nbrs, CONFIG))
    scale = np.abs(forces).max()
    assert scale > 1e-3  # the check is not vacuous
    h = 1e-4
    rng = np.random.default_rng(0)
    for atom, axis in zip(rng.choice(len(atoms), 8, replace=False), rng.integers(0, 3, 8), strict=True):
        plus, minus = position.copy(), position.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        fd = -(energy_jit(params, plus, box, nbrs, CONFIG) - energy_jit(params, minus, box, nbrs, CONFIG)) / (2 * h)
        assert abs(fd - forces[atom, axis]) < 1e-6 * scale, (atom, axis, fd, forces[atom, axis])


def test_invariances(params):
    """Rigid rotation of positions and cell, translation and permutation change E by < 1e-10 relative."""
    atoms = rattled64()
    position, box = atoms.positions, atoms.cell.array
    e = e_of(params, position, box)
    q, r = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))
    rot = q * np.sign(np.diag(r))
    rot = rot if np.linalg.det(rot) > 0 else -rot
    perm = np.random.default_rng(4).permutation(len(atoms))
    variants = {
        "rotation": (position @ rot.T, box @ rot.T),
        "translation": (position + np.array([0.7, -1.3, 2.9]), box),
        "permutation": (position[perm], box),
    }
    for name, (x, b) in variants.items():
        assert e_of(params, x, b) == pytest.approx(e, rel=1e-10, abs=0), name


def test_periodic_images_and_extensivity(params):
    """Energy per atom of the 8-atom cell = its 2×2×2 supercell = the 2-atom primitive cell (1e-10)."""
    cubic = bulk("Si", "diamond", a=5.43, cubic=True)
    cubic.positions += np.random.default_rng(5).normal(scale=0.05, size=cubic.positions.shape)
    per_atom = e_of(params, cubic.positions, cubic.cell.array) / 8
    big = cubic.repeat(2)
    reference = rattled64()  # the supercell listed at this cell's capacity: the other tests' compiled program
    capacity = nbrs_of(reference.positions, reference.cell.array).capacity
    assert e_of(params, big.positions, big.cell.array, capacity=capacity) / 64 == pytest.approx(per_atom, rel=1e-10,
                                                                                                 abs=0)

    perfect = bulk("Si", "diamond", a=5.43, cubic=True)
    prim = bulk("Si", "diamond", a=5.43)  # cell narrower than 2 r_c: images enter through shifts
    e_prim = e_of(params, prim.positions, prim.cell.array) / 2
    e_cubic = e_of(params, perfect.positions, perfect.cell.array) / 8
    assert e_prim == pytest.approx(e_cubic, rel=1e-10, abs=0)


def _dimer(r):
    return np.array([[5.0, 5.0, 5.0], [5.0 + r, 5.0, 5.0]]), np.eye(3) * 20.0


def _dimer_ef(params, r):
    position, box = _dimer(r)
    nbrs = nbrs_of(position, box, skin=0.1, pbc=False)
    e = float(energy_jit(params, position, box, nbrs, CONFIG))
    return e, -np.asarray(grad_position(params, position, box, nbrs, CONFIG))


def test_smooth_through_cutoff(params):
    """E and F of a dimer are continuous at r = r_c: steps across r_c ± 1e-6 Å below 1e-12 eV, eV/Å."""
    rc = CONFIG.cutoff
    e_in, f_in = _dimer_ef(params, rc - 1e-6)
    e_out, f_out = _dimer_ef(params, rc + 1e-6)
    e_far, f_far = _dimer_ef(params, rc + 0.05)
    e_near, f_near = _dimer_ef(params, rc - 0.5)
    assert np.abs(f_near).max() > 1e-4 and abs(e_near - e_far) > 1e-4  # the bond does interact
    assert abs(e_in - e_out) < 1e-12
    assert np.abs(f_in - f_out).max() < 1e-12
    assert e_out == e_far and np.all(f_out == 0) and np.all(f_far == 0)  # exactly nothing beyond r_c


def test_skin_edges_contribute_nothing(params):
    """Lists with skin 0 and 0.5 Å (second shell, at 3.84 Å, listed but beyond r_c) give the same E to
    1e-12."""
    atoms = rattled64()
    position, box = atoms.positions, atoms.cell.array
    loose = nbrs_of(position, box)  # the other tests' list: its compiled program serves both
    tight = nbrs_of(position, box, skin=0.0, capacity=loose.capacity)  # padded to the same shape
    assert loose.skin == 0.5 and loose.n_edges > 2 * tight.n_edges
    e0 = energy_jit(params, position, box, tight, CONFIG)
    e1 = energy_jit(params, position, box, loose, CONFIG)
    assert float(e1) == pytest.approx(float(e0), rel=1e-12, abs=0)


def test_short_all_pairs_list_equals_the_full_one(params):
    """The all-pairs list with a short list (the RDF fine-tuning's) gives the full list's energy and
    forces, also after atoms moved far; a short list too small for the pairs inside r_c gives NaN."""
    from ffdiff.neighbors import all_pairs

    atoms = rattled64()
    box = atoms.cell.array
    full = all_pairs(len(atoms), box, CONFIG.cutoff)
    short = all_pairs(len(atoms), box, CONFIG.cutoff, position=atoms.positions)
    assert 0 < short.short_capacity < full.capacity[0] / 2 and full.short_capacity == 0
    for position in (atoms.positions, atoms.positions + np.random.default_rng(2).normal(0.0, 1.0, (64, 3))):
        (e_full, f_full), (e_short, f_short) = (_energy_and_grad(params, position, box, n, CONFIG)
                                                for n in (full, short))
        assert float(e_short) == pytest.approx(float(e_full), rel=1e-12)
        np.testing.assert_allclose(f_short, f_full, atol=1e-11)
    # A jitted function may also close over the list (device arrays, not host ones a tracer cannot index).
    pot = mpgnn.potential(CONFIG)
    closed = jax.jit(lambda p: pot.energy(p, jnp.asarray(atoms.positions), jnp.asarray(box), short))(params)
    assert float(closed) == pytest.approx(float(_energy_and_grad(params, atoms.positions, box, short, CONFIG)[0]),
                                          rel=1e-12)
    inside = neighbor_list(atoms.positions, box, CONFIG.cutoff, triplets=False).n_edges
    small = dataclasses.replace(short, short_capacity=inside - 1)  # one pair short
    e_small, f_small = _energy_and_grad(params, atoms.positions, box, small, CONFIG)
    assert np.isnan(float(e_small)) and np.isnan(np.asarray(f_small)).all()


NAN_CASES = {
    "single_atom_big_box": ([[1.0, 2.0, 3.0]], np.eye(3) * 20.0),
    "single_atom_small_box": ([[0.3, 0.2, 0.1]], np.eye(3) * 2.6),  # bonds to its own images
    "isolated_pair": ([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]], np.eye(3) * 30.0),
    "dimer": ([[0.0, 0.0, 0.0], [2.3, 0.1, 0.0]], np.eye(3) * 30.0),
}


def test_no_nan_with_padding():
    """Energy, forces, stress and their parameter gradients stay finite on padded lists.

    A narrow network suffices: the masking does not depend on the widths, and the second-order
    derivatives (force-matching gradients) compile slowly for the default one.
    """
    config = mpgnn.MPGNNConfig(n_basis=4, features=8, hidden=16, n_steps=2)
    params = mpgnn.init_params(jax.random.key(2), config)
    energy = mpgnn.potential(config).energy

    @jax.jit
    @functools.partial(jax.value_and_grad, argnums=(0, 1))
    def summary(params, position, box, nbrs):
        e, f, s = energy_forces_stress(energy, params, position, box, nbrs)
        return e + jnp.sum(f**2) + jnp.sum(to_voigt(s))

    for case, (position, box) in NAN_CASES.items():
        position, box = jnp.asarray(position, dtype=float), jnp.asarray(box)
        nbrs = neighbor_list(position, box, config.cutoff, triplets=False)
        assert nbrs.capacity[0] > nbrs.n_edges  # padding present
        value, (d_params, d_pos) = summary(params, position, box, nbrs)
        assert np.isfinite(value), case
        assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(d_params)), case
        assert np.all(np.isfinite(d_pos)), case


def test_parameter_gradient_matches_finite_differences(params):
    """∂E/∂θ for entries of several leaves vs central differences (h = 1e-5), rel 1e-6."""
    atoms = rattled64()
    position, box = atoms.positions, atoms.cell.array
    nbrs = nbrs_of(position, box)
    grads = grad_params(params, position, box, nbrs, CONFIG)
    entries = [
        (("node_embedding",), (3,)),
        (("edge_embedding", "w"), (2, 5)),
        (("steps", "step0", "message", "layer0", "w"), (10, 4)),
        (("steps", "step2", "update", "layer1", "b"), (7,)),
        (("readout", "w"), (1, 9)),
        (("e0",), ()),
    ]
    h = 1e-5

    def shifted(keys, index, delta):
        leaf = params
        for k in keys:
            leaf = leaf[k]
        new = np.array(leaf)  # numpy: no compilation per leaf shape
        new[index] += delta

        def put(tree, keys):
            return new if not keys else {**tree, keys[0]: put(tree[keys[0]], keys[1:])}

        return put(params, keys)

    for keys, index in entries:
        g = grads
        for k in keys:
            g = g[k]
        g = float(g[index])
        fd = (energy_jit(shifted(keys, index, h), position, box, nbrs, CONFIG)
              - energy_jit(shifted(keys, index, -h), position, box, nbrs, CONFIG)) / (2 * h)
        assert abs(g) > 1e-6, keys
        assert fd == pytest.approx(g, rel=1e-6), keys


def test_float32_params(params):
    """float32 weights give a float32 energy within 1e-5 relative (forces 1e-4 of max) of float64."""
    atoms = rattled64()
    position, box = atoms.positions, atoms.cell.array
    nbrs = nbrs_of(position, box)
    p32 = jax.tree.map(lambda a: np.asarray(a, dtype=np.float32), params)  # numpy: no compilation per leaf
    e64, f64 = _energy_and_grad(params, position, box, nbrs, CONFIG)
    e32, f32 = _energy_and_grad(p32, position.astype(np.float32), box.astype(np.float32), nbrs, CONFIG)
    assert e32.dtype == jnp.float32 and e64.dtype == jnp.float64
    assert float(e32) == pytest.approx(float(e64), rel=1e-5)
    assert f32.dtype == np.float32
    assert np.abs(f32 - f64).max() < 1e-4 * np.abs(f64).max()


def test_compiles_once_per_shape(params):
    traces = []

    def counted(p, x, b, n):
        traces.append(1)
        return mpgnn.energy(p, x, b, n, CONFIG)

    fn = jax.jit(counted)
    atoms = rattled64()
    nbrs = nbrs_of(atoms.positions, atoms.cell.array)
    for shift in (0.0, 0.01, 0.02):
        fn(params, atoms.positions + shift, atoms.cell.array, nbrs)
    assert len(traces) == 1


def test_potential_record_and_calculator(params):
    """The Potential record works with ffdiff.Calculator and validates a weight tree passed in."""
    pot = mpgnn.potential(CONFIG, seed=7)
    assert (pot.name, pot.three_body, pot.cutoff(None)) == ("mpgnn", False, CONFIG.cutoff)
    atoms = rattled64()
    atoms.calc = Calculator(pot, params)
    expected = e_of(params, atoms.positions, atoms.cell.array)
    assert atoms.get_potential_energy() == pytest.approx(expected, rel=1e-12)
    assert atoms.get_forces().shape == (64, 3)
    chex = jax.tree.map(np.array_equal, pot.params(), params)  # seed 7 = the fixture's key
    assert all(jax.tree.leaves(chex))
    bad = {**params, "e0": jnp.zeros(2)}
    with pytest.raises(ValueError, match="e0"):
        pot.params(bad)
    with pytest.raises(ValueError, match=r"weight tree.*missing .*'readout'.*unexpected \[\]"):
        pot.params({"e0": params["e0"]})


def test_energy_offset():
    p = mpgnn.init_params(jax.random.key(0), CONFIG, energy_per_atom=-4.5)
    q = {**p, "e0": jnp.zeros_like(p["e0"])}  # same dtype and weak type: no recompilation
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    diff = e_of(p, atoms.positions, atoms.cell.array) - e_of(q, atoms.positions, atoms.cell.array)
    assert diff == pytest.approx(-4.5 * 8, rel=1e-12)


@pytest.mark.parametrize("field, value", [("cutoff", -1.0), ("n_basis", 0), ("features", 2.5),
                                          ("n_steps", 0), ("envelope_exponent", 1), ("avg_neighbors", 0.0)])
def test_config_validation(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(CONFIG, **{field: value})
    assert hash(CONFIG) == hash(mpgnn.MPGNNConfig())
