"""Pickle-free pytree checkpoints: exact round trips, structure validation, atomic writes."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ffdiff.runtime.checkpoint import load_pytree, save_pytree
from ffdiff.potentials import mpgnn

CONFIG = mpgnn.MPGNNConfig(features=8, hidden=16, n_basis=4, n_steps=2)


@pytest.fixture(scope="module")
def params():
    return mpgnn.init_params(jax.random.key(1), CONFIG, energy_per_atom=-4.63)


def _bit_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_params_round_trip(tmp_path, params):
    path = save_pytree(tmp_path / "params.npz", params, {"step": 12, "config": {"features": 8}})
    like = jax.tree.map(jnp.zeros_like, params)
    tree, meta = load_pytree(path, like)
    assert jax.tree.structure(tree) == jax.tree.structure(params)
    assert all(jax.tree.leaves(jax.tree.map(_bit_equal, tree, params)))
    assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(tree))
    assert meta == {"step": 12, "config": {"features": 8}}


def test_adam_state_round_trip(tmp_path, params):
    """An optax adam state after a few updates (int32 count, NamedTuples, tuples) comes back exactly."""
    opt = optax.adam(1e-3)
    state = opt.init(params)
    update = jax.jit(lambda s: opt.update(jax.tree.map(lambda p: jnp.sin(p) + 0.1, params), s, params)[1])
    for _ in range(3):
        state = update(state)
    tree = {"opt_state": state, "params": params, "step": 3, "lr": 1e-3, "dtype32": np.float32(0.1)}
    path = save_pytree(tmp_path / "state.npz", tree)
    fresh = {"opt_state": opt.init(params), "params": params, "step": 0, "lr": 0.0,
             "dtype32": np.float32(0.0)}
    loaded, meta = load_pytree(path, fresh)
    assert meta == {}
    assert jax.tree.structure(loaded) == jax.tree.structure(tree)
    assert type(loaded["opt_state"][0]) is type(state[0])
    assert all(jax.tree.leaves(jax.tree.map(_bit_equal, loaded, tree)))
    assert loaded["step"] == 3 and type(loaded["step"]) is int
    assert loaded["opt_state"][0].count.dtype == jnp.int32


def test_plain_numpy_without_pickle(tmp_path, params):
    path = save_pytree(tmp_path / "p.npz", params, {"note": "x"})
    with np.load(path, allow_pickle=False) as data:
        assert "steps/step1/update/layer0/w" in data.files
        assert np.array_equal(data["e0"], np.asarray(params["e0"]))
        header = json.loads(str(data["__ffdiff__"]))
    assert header["metadata"] == {"note": "x"} and header["format_version"] == 1


def test_mismatched_template_names_file_and_key(tmp_path, params):
    path = save_pytree(tmp_path / "p.npz", params)
    extra = {**params, "shift": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"p\.npz.*missing keys \['shift'\]"):
        load_pytree(path, extra)
    fewer = {k: v for k, v in params.items() if k != "e0"}
    with pytest.raises(ValueError, match=r"extra keys \['e0'\]"):
        load_pytree(path, fewer)
    wrong_shape = {**params, "node_embedding": jnp.zeros(9)}
    with pytest.raises(ValueError, match=r"p\.npz: key 'node_embedding'"):
        load_pytree(path, wrong_shape)
    wrong_dtype = jax.tree.map(lambda a: a.astype(jnp.float32), params)
    with pytest.raises(ValueError, match="float32"):
        load_pytree(path, wrong_dtype)


def test_atomic_write_leaves_no_temp_files(tmp_path, params):
    path = tmp_path / "ckpt.npz"
    save_pytree(path, params, {"step": 1})
    save_pytree(path, {**params, "e0": jnp.asarray(1.5)}, {"step": 2})  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]
    tree, meta = load_pytree(path, params)
    assert float(tree["e0"]) == 1.5 and meta == {"step": 2}
    with pytest.raises(ValueError, match="JSON"):
        save_pytree(path, params, {"bad": object()})
    with pytest.raises(ValueError, match="dtype"):
        save_pytree(tmp_path / "s.npz", {"name": np.array(["a"], dtype=object)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]
    assert load_pytree(path, params)[1] == {"step": 2}  # the failed writes left the old file intact


def test_rejects_foreign_file(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.ones(2))
    with pytest.raises(ValueError, match="not an ffdiff checkpoint"):
        load_pytree(path, {"a": np.ones(2)})
