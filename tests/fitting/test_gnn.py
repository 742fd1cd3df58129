"""The GNN chain's training pieces: the RDF loss's gradient through MD, resumable training."""

import jax
import numpy as np
import pytest
from ase.build import bulk

from conftest import md_settings
from ffdiff.data.dataset import Dataset
from ffdiff.fitting.frames import energy_force_loss, stack_frames
from ffdiff.fitting.gnn import RDFSettings, init_rdf_loss, new_model, normalisation
from ffdiff.fitting.training import TrainSettings, mean_loss, train

SMALL = {"cutoff": 3.77, "n_basis": 4, "features": 8, "n_steps": 2, "hidden": 16}


def _liquid_like(seed=0):
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    atoms.rattle(0.25, seed=seed)
    return atoms


def _edip_labelled(snapshots):
    """``snapshots`` with EDIP energies and forces. One calculator labels them all: it keeps its list's
    capacities from frame to frame, so one compiled program serves every frame (a calculator per
    frame sizes a list per frame, and every new size compiles anew)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from ffdiff import Calculator

    calculator = Calculator("edip")
    for atoms in snapshots:
        atoms.calc = calculator
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
    return snapshots


def test_rdf_loss_gradient_matches_finite_differences():
    """d(RDF MSE after 20 MD steps)/d(weights) against central differences, float64, 1e-4 relative."""
    model, params = new_model(SMALL, seed=1, energy_per_atom=-4.6)
    atoms = _liquid_like()
    rdf = RDFSettings(r_min=1.5, r_max=4.8, n_points=34, sigma=0.15)
    g_ref = 1.0 + 0.5 * np.sin(rdf.grid)
    md = md_settings(20, temperature_K=2000.0, record_every=4)
    starts = np.stack([_liquid_like(seed).positions for seed in range(3)])
    draw = init_rdf_loss(model, starts, atoms.cell.array, g_ref, rdf, md, replicas=2)
    rdf_key = jax.random.key(3)

    # one program (the key an argument) gives the gradient and every value below; a value-only
    # program would be one more compilation
    value_and_grad = jax.jit(jax.value_and_grad(draw))
    grads = value_and_grad(params, rdf_key)[1]

    def value(p, key):
        return value_and_grad(p, key)[0]

    # every step draws afresh: another key, other starts and velocities, another loss
    assert float(value(params, rdf_key)) != float(value(params, jax.random.key(4)))
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
            return float(value(tree, rdf_key))

        h = 1e-5
        fd = (shifted(h) - shifted(-h)) / (2 * h)
        analytic = float(at(grads, path)[index])
        assert analytic == pytest.approx(fd, rel=1e-4, abs=1e-10), (path, index, analytic, fd)
        assert abs(analytic) > 1e-8  # a real dependence, not two zeros agreeing


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    snapshots = []
    for k in range(24):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        atoms.positions += rng.normal(0.0, 0.08, atoms.positions.shape)
        atoms.info["source"] = "edip-rattled"
        snapshots.append(atoms)
    return Dataset.from_frames(_edip_labelled(snapshots))


def test_training_stops_at_a_non_finite_loss(frames, tmp_path):
    """A NaN loss (here at the second batch) stops training with an error naming the epoch, and the
    state before that step is saved next to the checkpoint."""
    import jax.numpy as jnp

    from ffdiff.runtime.checkpoint import read_metadata

    model, start = new_model(SMALL, seed=0, energy_per_atom=-4.6)
    stacked = stack_frames(frames, model.config.cutoff)
    settings = TrainSettings(epochs=2, batch_size=8, learning_rate=3e-3, seed=5)
    steps = {"n": 0}

    def loss(p, batch, weight):  # finite, then NaN once the first step has moved e0
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
    loss = lambda p, b, w: energy_force_loss(model, p, b, settings.weights, w)  # noqa: E731
    validation = mean_loss(loss, validation_frames, 8)

    full, history, _ = train(loss, start, train_frames, validation, settings, progress=False)

    calls = {"n": 0}

    def crashing(params):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed during epoch 3, after the epoch-2 checkpoint
        return validation(params)

    checkpoint = tmp_path / "checkpoint.npz"
    with pytest.raises(KeyboardInterrupt):
        train(loss, start, train_frames, crashing, settings, checkpoint=checkpoint, fingerprint="a", progress=False)
    resumed, resumed_history, _ = train(loss, start, train_frames, validation, settings, checkpoint=checkpoint,
                                     fingerprint="a", progress=False)
    assert resumed_history == history
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), resumed, full)
    assert history[-1]["train_loss"] < history[0]["train_loss"]

    # A checkpoint of other settings is not resumed.
    _, fresh, _ = train(loss, start, train_frames, validation, settings, checkpoint=checkpoint, fingerprint="b",
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
    loss = lambda p, b, w: energy_force_loss(model, p, b, settings.weights, w)  # noqa: E731
    validation = mean_loss(loss, stacked.take(np.arange(16, 24)), 8)
    with jax.log_compiles(True), caplog.at_level(logging.WARNING, logger="jax._src.dispatch"):
        train(loss, start, stacked.take(np.arange(16)), validation, settings, progress=False)
    names = re.findall(r"Finished XLA compilation of jit\((.*?)\)", caplog.text)
    assert sorted(names) == ["<lambda>", "init_fn", "step"]


def test_training_fits_teacher_frames_and_says_why_it_stopped(frames):
    """A small MPGNN trained on EDIP frames (16 train, 8 validation, 64 atoms) lowers its validation
    loss to under a fifth of the start's, and stops for a recorded reason with its best epoch."""
    model, start = new_model({**SMALL, "angular": 2}, seed=0, **normalisation(frames))
    stacked = stack_frames(frames, model.config.cutoff)
    settings = TrainSettings(epochs=40, batch_size=4, learning_rate=5e-3, warmup_epochs=2, decay_patience=3,
                             min_learning_rate=1e-4, patience=8, seed=0)
    loss = lambda p, b, w: energy_force_loss(model, p, b, settings.weights, w)  # noqa: E731
    validation = mean_loss(loss, stacked.take(np.arange(16, 24)), 8)
    best, history, summary = train(loss, start, stacked.take(np.arange(16)), validation, settings, progress=False)
    assert validation(best) < 0.2 * validation(start), (validation(start), validation(best))
    assert validation(best) == pytest.approx(min(h["validation_loss"] for h in history), rel=1e-12)
    assert summary["steps"] == 4 * len(history) and summary["stop_reason"]
    assert history[summary["best_epoch"] - 1]["validation_loss"] == summary["best_validation_loss"]


def test_every_frame_is_used_once_per_epoch():
    """Batches of one shape cover every frame once; filler frames carry weight 0."""
    from ffdiff.fitting.training import padded_batches

    order = np.random.default_rng(0).permutation(11)
    batches = padded_batches(11, 4, order)
    assert [len(i) for i, _ in batches] == [4, 4, 4]
    real = np.concatenate([i[w > 0] for i, w in batches])
    np.testing.assert_array_equal(real, order)
    assert sum(w.sum() for _, w in batches) == 11


def test_padded_frames_do_not_change_the_loss(frames):
    """The weighted loss of a batch with filler frames equals the plain loss of its real frames."""
    model, params = new_model(SMALL, seed=3, energy_per_atom=-4.6)
    stacked = stack_frames(frames, model.config.cutoff)
    weights = {"energy": 2.0, "forces": 1.0}
    # compiled, as training evaluates it (op by op, each operation would compile a program of its own)
    real = float(jax.jit(lambda p, b: energy_force_loss(model, p, b, weights))(params, stacked.take(np.arange(3))))
    padded = float(jax.jit(lambda p, b, w: energy_force_loss(model, p, b, weights, w))(
        params, stacked.take(np.array([0, 1, 2, 5, 6])), np.array([1.0, 1.0, 1.0, 0.0, 0.0])))
    assert padded == pytest.approx(real, rel=1e-12)


def test_gradient_accumulated_piece_by_piece_equals_the_whole_batchs(frames):
    """batch_value_and_grad (pieces of a few frames, a filler-only piece among them, plus a global
    term) gives the loss and gradient of the whole batch at once (1e-12 relative)."""
    from ffdiff.fitting.training import batch_value_and_grad, frames_per_chunk

    model, params = new_model(SMALL, seed=5, energy_per_atom=-4.6)
    batch = stack_frames(frames, model.config.cutoff).take(np.array([0, 1, 2, 3, 4, 5, 0, 1]))
    n_atoms = batch.position.shape[1]
    assert frames_per_chunk(8, n_atoms, chunk_atoms=2 * n_atoms) == 2  # four pieces, the last filler only
    weight = jax.numpy.asarray([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    weights = {"energy": 2.0, "forces": 1.0}
    loss = lambda p, b, w: energy_force_loss(model, p, b, weights, w)  # noqa: E731
    extra = lambda p: 0.1 * jax.numpy.sum(p["decoder"]["w"] ** 2)  # noqa: E731
    # both compiled, as in a training step (op by op, each operation would compile a program of its own)
    value, grads = jax.jit(lambda p, b, w: batch_value_and_grad(loss, p, b, w, extra, chunk_atoms=2 * n_atoms))(
        params, batch, weight)
    whole, whole_grads = jax.jit(jax.value_and_grad(lambda p, b, w: loss(p, b, w) + extra(p)))(params, batch, weight)
    assert float(value) == pytest.approx(float(whole), rel=1e-12)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(whole_grads), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(b))))
    assert max(float(np.max(np.abs(g))) for g in jax.tree.leaves(grads)) > 1e-3  # not vacuous


def test_batched_graph_equals_frame_by_frame(frames):
    """One disjoint graph of a batch gives each frame's energy and forces as the frame alone (1e-10)."""
    from ffdiff.fitting.frames import predict

    model, params = new_model({**SMALL, "angular": 2}, seed=4, energy_per_atom=-4.6)
    batch = stack_frames(frames, model.config.cutoff).take(np.arange(4))
    # both compiled (op by op, each operation would compile a program of its own)
    energy, forces = jax.jit(lambda p, b: predict(model, p, b))(params, batch)
    alone_energy, alone_forces = jax.jit(lambda p, b: predict(model.energy, p, b))(params, batch)  # mapped over frames
    np.testing.assert_allclose(energy, alone_energy, rtol=0, atol=1e-10)
    np.testing.assert_allclose(forces, alone_forces, rtol=0, atol=1e-10)
    assert np.abs(np.asarray(forces)).max() > 1e-3  # not vacuous: untrained weights, scale 1 eV


def test_schedule_warms_up_decays_on_plateaus_and_stops():
    """Warm-up is linear, a plateau of decay_patience epochs halves the rate, patience stops training."""
    from ffdiff.fitting.training import _Plateau

    plateau = _Plateau(TrainSettings(epochs=100, learning_rate=1e-3, warmup_epochs=4, decay_patience=2,
                                     patience=5, min_learning_rate=1e-5))
    assert [plateau.learning_rate(e, 0) for e in range(5)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3])
    state = (0, 0, 0)
    reasons = []
    for epoch in range(10):
        *state, reason = plateau.after_epoch(epoch, epoch < 4, *state)
        reasons.append(reason)
        if reason:
            break
    assert state[2] == 2 and reasons[-1] == "no improvement in 5 epochs" and len(reasons) == 9


# --- model kinds: the MPGNN and jax-md's EnergyGraphNet ----------------------------------------------

EGN_SMALL = {"cutoff": 3.77, "n_recurrences": 1, "mlp_sizes": [16, 16]}


@pytest.mark.parametrize("config", [
    SMALL,  # flat settings: an MPGNN
    {"kind": "energy_graph_net", "energy_graph_net": EGN_SMALL, "mpgnn": {"features": 7}},  # the workflow's layout
], ids=["mpgnn", "energy_graph_net"])
def test_models_round_trip_through_their_file(config, frames, tmp_path):
    """save_model records the kind and its settings; load_model rebuilds the same potential, with
    bit-identical weights and the same energy."""
    from ffdiff.potentials.models import load_model, save_model
    from ffdiff.fitting.frames import predict

    model, params = new_model(config, seed=1, energy_per_atom=-4.6)
    path = tmp_path / "model.npz"
    save_model(path, model, params, stage="pretrained")
    loaded, weights, meta = load_model(path)
    assert (meta["kind"], meta["stage"]) == (model.name, "pretrained")
    assert loaded.name == model.name == config.get("kind", "mpgnn") and loaded.config == model.config
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), weights, params)
    batch = stack_frames(frames, model.config.cutoff).take(np.arange(2))

    def energy(potential, p):  # compiled (op by op, each operation would compile a program of its own)
        return jax.jit(lambda p, b: predict(potential, p, b)[0])(p, batch)

    np.testing.assert_array_equal(energy(loaded, weights), energy(model, params))


def test_model_settings_per_kind():
    """Only the chosen kind's block is read; flat settings next to blocks and unknown kinds are errors;
    a file written before kinds existed (settings under "mpgnn" only) loads as an MPGNN."""
    from ffdiff.fitting.gnn import model_settings

    blocks = {"kind": "mpgnn", "mpgnn": {"features": 8}, "energy_graph_net": {"mlp_sizes": [8]}}
    assert model_settings(blocks) == ("mpgnn", {"features": 8})
    assert model_settings({**blocks, "kind": "energy_graph_net"}) == ("energy_graph_net", {"mlp_sizes": [8]})
    assert model_settings({"kind": "energy_graph_net"}) == ("energy_graph_net", {})
    assert model_settings({"features": 8}) == ("mpgnn", {"features": 8})
    with pytest.raises(ValueError, match="per-kind blocks"):
        model_settings({**blocks, "features": 8})
    with pytest.raises(ValueError, match="gnn.model.kind: expected one of"):
        model_settings({"kind": "nequip"})


def test_legacy_mpgnn_file_loads(tmp_path):
    import dataclasses

    from ffdiff.runtime.checkpoint import save_pytree
    from ffdiff.potentials.models import load_model

    model, params = new_model(SMALL, seed=0, energy_per_atom=-4.6)
    save_pytree(tmp_path / "old.npz", params, {"mpgnn": dataclasses.asdict(model.config)})
    loaded, _, _ = load_model(tmp_path / "old.npz")
    assert loaded.name == "mpgnn" and loaded.config == model.config


def test_energy_graph_net_trains_through_the_chain(frames):
    """A few epochs of fit_energies_forces on EDIP frames lower jax-md's EnergyGraphNet's training and
    validation losses (a small network: one recurrence, (16, 16) MLPs)."""
    from ffdiff.fitting.gnn import fit_energies_forces

    model, start = new_model({"kind": "energy_graph_net", **EGN_SMALL}, seed=0,
                             energy_per_atom=float(np.mean(frames.energies)) / 8)
    stacked = stack_frames(frames, model.config.cutoff)
    splits = {"train": stacked.take(np.arange(16)), "validation": stacked.take(np.arange(16, 24))}
    settings = TrainSettings(epochs=4, batch_size=4, learning_rate=3e-3, seed=0)
    best, history, *_ = fit_energies_forces(model, start, splits, settings, progress=False)
    # the validation loss fit_energies_forces compiles (every frame at weight 1: the plain mean over
    # the 8 frames), so its program is loaded, not compiled again
    loss = lambda p, b, w: energy_force_loss(model, p, b, settings.weights, w)  # noqa: E731
    validation = mean_loss(loss, splits["validation"], settings.batch_size)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert validation(best) < validation(start), (validation(start), validation(best))


def test_float32_training_tracks_float64_to_the_printed_digits(frames):
    """The same training in float32 and float64 (same start, batches and schedule) gives the same
    validation losses and test errors to the four significant digits the tables print; the model
    comes back in float64."""
    from ffdiff.fitting.frames import errors

    model, start = new_model({**SMALL, "angular": 2}, seed=1, energy_per_atom=float(np.mean(frames.energies)) / 64,
                             energy_scale=1.0)
    stacked = stack_frames(frames, model.config.cutoff)
    runs = {}
    for dtype in ("float64", "float32"):
        settings = TrainSettings(epochs=3, batch_size=4, learning_rate=2e-3, seed=0, dtype=dtype)
        loss = lambda p, b, w, s=settings: energy_force_loss(model, p, b, s.weights, w)  # noqa: E731
        best, history, _ = train(loss, start, stacked.take(np.arange(16)), mean_loss(loss, stacked.take(np.arange(16, 24)), 8),
                                 settings, progress=False)
        assert {leaf.dtype for leaf in jax.tree.leaves(best)} == {np.dtype("float64")}
        runs[dtype] = ([h["validation_loss"] for h in history], errors(model, best, stacked.take(np.arange(16, 24))))
    (loss64, err64), (loss32, err32) = runs["float64"], runs["float32"]
    assert loss32 == pytest.approx(loss64, rel=5e-4)
    for key in err64:
        assert f"{err32[key]:.4g}" == f"{err64[key]:.4g}", (key, err32[key], err64[key])


def test_rdf_arms_set_the_term_to_its_share_and_log_it():
    """fit_rdf: the weight makes the RDF term the asked share of the loss at the start, the share is
    logged per epoch near it, a rerun is bit-identical (fresh draws come from the step's key), and
    share 0 (the control arm) trains on energies and forces alone."""
    from ffdiff.fitting.gnn import fit_rdf, reference_rdf, rdf_weight

    rng = np.random.default_rng(1)
    atoms_list = []
    for _ in range(9):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
        atoms.positions += rng.normal(0.0, 0.15, atoms.positions.shape)
        atoms_list.append(atoms)
    data = Dataset.from_frames(_edip_labelled(atoms_list), "rattled")
    model, start = new_model(SMALL, seed=0, **normalisation(data))
    stacked = stack_frames(data, model.config.cutoff)
    # validation batches of the training batches' size (3 frames): one compiled E/F loss serves both
    splits = {"train": stacked.take(np.arange(6)), "validation": stacked.take(np.arange(6, 9))}
    starts = {"train": data.positions[:6], "validation": data.positions[6:]}
    rdf = RDFSettings(r_min=1.5, r_max=4.8, n_points=34, sigma=0.15)
    g_ref = reference_rdf(data, rdf) * 0.9  # a target the model is away from
    md = md_settings(10, temperature_K=1500.0, record_every=5)
    settings = TrainSettings(epochs=1, batch_size=3, learning_rate=1e-4, decay_patience=2, patience=2, seed=2)

    def arm(share):
        return fit_rdf(model, start, splits, starts, data.cells[0], g_ref, settings, rdf, md, replicas=2, share=share,
                       progress=False)

    best, history, _, diagnostics = arm(0.5)
    assert diagnostics["rdf_weight"] == pytest.approx(
        rdf_weight(0.5, diagnostics["ef_loss_start"], diagnostics["rdf_mse_start"]), rel=1e-12)
    assert 0.25 < history[0]["global_share"] < 0.75, history
    again, history_again, _, _ = arm(0.5)
    assert history_again == history
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), again, best)
    control, control_history, _, control_diagnostics = arm(0.0)
    assert control_diagnostics["rdf_weight"] == 0.0 and "global_share" not in control_history[0]
    assert not all(np.array_equal(np.asarray(a), np.asarray(b))
                   for a, b in zip(jax.tree.leaves(control), jax.tree.leaves(best), strict=True))
