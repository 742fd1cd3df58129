"""The GNN chain's training pieces: the RDF loss's gradient through MD, resumable training."""

import jax
import numpy as np
import pytest
from ase.build import bulk

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import MDSettings, RDFSettings, init_rdf_loss, new_model
from ffdiff.fitting.training import TrainSettings, energy_force_loss, mean_loss, stack_frames, train

SMALL = {"cutoff": 3.77, "n_basis": 4, "features": 8, "n_steps": 2, "hidden": 16}


def _liquid_like(seed=0):
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    atoms.rattle(0.25, seed=seed)
    return atoms


def test_rdf_loss_gradient_matches_finite_differences():
    """d(RDF MSE after 20 MD steps)/d(weights) against central differences, float64, 1e-4 relative."""
    model, params = new_model(SMALL, seed=1, energy_per_atom=-4.6)
    atoms = _liquid_like()
    rdf = RDFSettings(r_min=1.5, r_max=4.8, n_points=34, sigma=0.15)
    g_ref = 1.0 + 0.5 * np.sin(rdf.grid)
    md = MDSettings(n_steps=20, temperature_K=2000.0, record_every=4, seed=3)
    loss, _ = init_rdf_loss(model, atoms.positions, atoms.cell.array, g_ref, rdf, md, params)
    grads = jax.jit(jax.grad(loss))(params)
    value = jax.jit(loss)
    leaves = [("decoder", "w", (3, 0)), ("steps", "step0", "message", "layer1", "w", (2, 5)),
              ("edge_embedding", "w", (1, 4))]
    for *path, index in leaves:
        def at(tree, path=path):
            for key in path:
                tree = tree[key]
            return tree

        def shifted(h, path=path, index=index):
            tree = jax.tree.map(lambda x: x, params)
            parent = at(tree, path[:-1])
            parent[path[-1]] = parent[path[-1]].at[index].add(h)
            return float(value(tree))

        h = 1e-5
        fd = (shifted(h) - shifted(-h)) / (2 * h)
        analytic = float(at(grads, path)[index])
        assert analytic == pytest.approx(fd, rel=1e-4, abs=1e-10), (path, index, analytic, fd)
        assert abs(analytic) > 1e-8  # a real dependence, not two zeros agreeing


@pytest.fixture(scope="module")
def frames():
    from ffdiff import Calculator

    rng = np.random.default_rng(0)
    snapshots = []
    for k in range(24):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        atoms.positions += rng.normal(0.0, 0.08, atoms.positions.shape)
        atoms.calc = Calculator("edip")
        atoms.get_potential_energy()
        atoms.info["source"] = "edip-rattled"
        snapshots.append(atoms)
    return Dataset.from_frames(snapshots)


def test_training_stops_at_a_non_finite_loss(frames, tmp_path):
    """A NaN loss (here at the second batch) stops training with an error naming the epoch, and the
    state before that step is saved next to the checkpoint."""
    import jax.numpy as jnp

    from ffdiff.checkpoint import read_metadata

    model, start = new_model(SMALL, seed=0, energy_per_atom=-4.6)
    stacked = stack_frames(frames, model.config.cutoff)
    settings = TrainSettings(epochs=2, batch_size=8, learning_rate=3e-3, seed=5)
    steps = {"n": 0}

    def loss(p, batch):  # finite, then NaN once the first step has moved e0
        return jnp.where(p["e0"] == start["e0"], (p["e0"] + 1.0) ** 2, jnp.nan)

    def validation(p):
        steps["n"] += 1
        return 0.0

    checkpoint = tmp_path / "checkpoint.npz"
    with pytest.raises(FloatingPointError, match="epoch 1 .batch from frame 8."):
        train(loss, start, stacked.take(np.arange(16)), validation, settings, checkpoint=checkpoint, progress=False)
    error = tmp_path / "checkpoint.error.npz"
    assert read_metadata(error)["failed_epoch"] == 1 and steps["n"] == 0 and not checkpoint.exists()
    with np.load(error) as saved:  # the parameters after the first, finite step
        e0 = next(saved[k] for k in saved.files if k.startswith("params") and k.endswith("e0"))
    assert np.isfinite(e0) and e0 != float(start["e0"])


def test_training_resumes_where_it_stopped(frames, tmp_path):
    """A run interrupted after two epochs and restarted ends bit-identical to an uninterrupted one."""
    model, start = new_model(SMALL, seed=0, energy_per_atom=float(np.mean(frames.energies)) / 8)
    stacked = stack_frames(frames, model.config.cutoff)
    train_frames, validation_frames = stacked.take(np.arange(16)), stacked.take(np.arange(16, 24))
    settings = TrainSettings(epochs=4, batch_size=8, learning_rate=3e-3, seed=5)
    loss = lambda p, b: energy_force_loss(model.energy, p, b, settings.weights)  # noqa: E731
    validation = mean_loss(loss, validation_frames, 8)

    full, history = train(loss, start, train_frames, validation, settings, progress=False)

    calls = {"n": 0}

    def crashing(params):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed during epoch 3, after the epoch-2 checkpoint
        return validation(params)

    checkpoint = tmp_path / "checkpoint.npz"
    with pytest.raises(KeyboardInterrupt):
        train(loss, start, train_frames, crashing, settings, checkpoint=checkpoint, fingerprint="a", progress=False)
    resumed, resumed_history = train(loss, start, train_frames, validation, settings, checkpoint=checkpoint,
                                     fingerprint="a", progress=False)
    assert resumed_history == history
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), resumed, full)
    assert history[-1]["train_loss"] < history[0]["train_loss"]

    # A checkpoint of other settings is not resumed.
    _, fresh = train(loss, start, train_frames, validation, settings, checkpoint=checkpoint, fingerprint="b",
                     progress=False)
    assert fresh == history


def test_training_compiles_its_step_and_validation_only(frames, caplog):
    """Batches are host slices and the optimiser state is made by one program: a training run compiles
    its step, its validation loss and that, no op-sized program per batch or leaf shape (each costs
    every job tens of milliseconds). Shapes no other test uses, so no earlier test compiled them."""
    import logging
    import re

    model, start = new_model({**SMALL, "features": 7, "hidden": 13}, seed=2, energy_per_atom=-4.6)
    stacked = stack_frames(frames, model.config.cutoff)
    settings = TrainSettings(epochs=2, batch_size=5, learning_rate=3e-3, seed=1)
    loss = lambda p, b: energy_force_loss(model.energy, p, b, settings.weights)  # noqa: E731
    validation = mean_loss(loss, stacked.take(np.arange(16, 24)), 8)
    with jax.log_compiles(True), caplog.at_level(logging.WARNING, logger="jax._src.dispatch"):
        train(loss, start, stacked.take(np.arange(16)), validation, settings, progress=False)
    names = re.findall(r"Finished XLA compilation of jit\((.*?)\)", caplog.text)
    assert sorted(names) == ["<lambda>", "init_fn", "step"]
