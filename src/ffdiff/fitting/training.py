"""Training a potential on energies and forces: batched graphs, the MSE loss, error metrics, and an
Adam loop that keeps the best-validation parameters and resumes from its checkpoint.

Every frame of a dataset has the same atom count, so the neighbour lists of all frames are padded
to one capacity and stacked: a batch is then a plain pytree slice, and one compiled step serves the
whole run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ffdiff.checkpoint import load_pytree, read_metadata, save_pytree
from ffdiff.neighbors import NeighborList, neighbor_list
from ffdiff.typing import Params

logger = logging.getLogger(__name__)

EnergyFn = Callable[..., jax.Array]  # (params, position, box, neighbors) -> eV


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Frames:
    """Stacked frames with their neighbour lists, ready for ``jax.vmap`` (numpy arrays on the host).

    Attributes:
        position: `[F, N, 3]` Å.
        box: `[F, 3, 3]` Å, lattice vectors as rows.
        energy: `[F]` eV.
        forces: `[F, N, 3]` eV/Å.
        neighbors: a :class:`NeighborList` whose arrays carry a leading `[F]` axis.
    """

    position: np.ndarray
    box: np.ndarray
    energy: np.ndarray
    forces: np.ndarray
    neighbors: NeighborList

    def __len__(self) -> int:
        return int(self.position.shape[0])

    def take(self, index) -> Frames:
        return jax.tree.map(lambda x: x[index], self)


def stack_frames(dataset, cutoff: float) -> Frames:
    """Frames of a :class:`ffdiff.data.dataset.Dataset` with edge lists (no triplets) padded to the
    largest count among them, as host (numpy) arrays."""
    positions, cells = np.asarray(dataset.positions), np.asarray(dataset.cells)
    counts = [neighbor_list(x, c, cutoff, triplets=False, capacity_multiplier=1.0).n_edges
              for x, c in zip(positions, cells, strict=True)]
    capacity = (32 * -(-max(counts) // 32), 1)
    lists = [neighbor_list(x, c, cutoff, triplets=False, capacity=capacity)
             for x, c in zip(positions, cells, strict=True)]
    # Kept on the host: batches are numpy slices, sent to the device by the compiled step that takes
    # them (device arrays would compile a gather per leaf shape, in every job).
    stacked = jax.tree.map(lambda *leaves: np.stack(leaves), *lists)
    return Frames(positions, cells, np.asarray(dataset.energies), np.asarray(dataset.forces), stacked)


def predict(energy_fn: EnergyFn, params: Params, frames: Frames) -> tuple[jax.Array, jax.Array]:
    """`[F]` energies (eV) and `[F, N, 3]` forces (eV/Å) of every frame."""

    def one(position, box, neighbors):
        energy, grad = jax.value_and_grad(energy_fn, argnums=1)(params, position, box, neighbors)
        return energy, -grad

    return jax.vmap(one)(frames.position, frames.box, frames.neighbors)


# params are an argument, not constants of the program: every model shares one compilation.
_predict = jax.jit(predict, static_argnums=0)


def energy_force_loss(energy_fn: EnergyFn, params: Params, frames: Frames, weights: Mapping[str, float]):
    """w_E · MSE of the energy per atom (eV²) + w_F · MSE of the force components (eV²/Å²)."""
    energy, forces = predict(energy_fn, params, frames)
    n_atoms = frames.position.shape[1]
    e_mse = jnp.mean(((energy - frames.energy) / n_atoms) ** 2)
    f_mse = jnp.mean((forces - frames.forces) ** 2)
    return weights["energy"] * e_mse + weights["forces"] * f_mse


def errors(energy_fn: EnergyFn, params: Params, frames: Frames, batch_size: int = 64) -> dict[str, float]:
    """Energy RMSE and MAE per atom in meV/atom, force-component RMSE and MAE in eV/Å."""
    de, df = [], []
    for start in range(0, len(frames), batch_size):
        batch = frames.take(slice(start, start + batch_size))
        energy, forces = _predict(energy_fn, params, batch)
        de.append((np.asarray(energy) - batch.energy) / batch.position.shape[1])
        df.append((np.asarray(forces) - batch.forces).ravel())
    de, df = np.concatenate(de) * 1000.0, np.concatenate(df)
    return {"energy_rmse_mev_atom": float(np.sqrt(np.mean(de**2))), "energy_mae_mev_atom": float(np.mean(np.abs(de))),
            "force_rmse": float(np.sqrt(np.mean(df**2))), "force_mae": float(np.mean(np.abs(df)))}


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Adam on mini-batches; the parameters with the lowest validation loss are kept.

    Attributes:
        epochs: passes over the training frames.
        batch_size: frames per step.
        learning_rate: Adam step size.
        clip_norm: global gradient-norm clipping (stabilises the first epochs).
        weights: ``{"energy": w_E, "forces": w_F}`` of :func:`energy_force_loss`.
        seed: shuffling seed (epoch k uses the generator seeded with (seed, k), so a resumed run
            shuffles exactly as an uninterrupted one).
        checkpoint_every: epochs between checkpoints.
    """

    epochs: int
    batch_size: int = 64
    learning_rate: float = 1e-3
    clip_norm: float = 1.0
    weights: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"energy": 1.0, "forces": 1.0})
    seed: int = 0
    checkpoint_every: int = 1


def train_settings(config: Mapping, seed: int) -> TrainSettings:
    """:class:`TrainSettings` from the workflow's ``training`` config block."""
    return TrainSettings(epochs=config["epochs"], batch_size=config["batch_size"], learning_rate=config["learning_rate"],
                         clip_norm=config["clip_norm"], seed=seed, checkpoint_every=config["checkpoint_every"],
                         weights={"energy": config["energy_weight"], "forces": config["force_weight"]})


def mean_loss(loss_fn: Callable[[Params, Frames], jax.Array], frames: Frames, batch_size: int):
    """``params -> mean of loss_fn over batches of frames`` (a last, partial batch is weighted by its
    size and compiles a second shape)."""
    fn = jax.jit(loss_fn)

    def evaluate(params) -> float:
        total = 0.0
        for start in range(0, len(frames), batch_size):
            batch = frames.take(slice(start, start + batch_size))
            total += float(fn(params, batch)) * len(batch)
        return total / len(frames)

    return evaluate


def _diverged(loss: float, epoch: int, start: int, state: dict, history: list, checkpoint, fingerprint: str):
    """Save the state before the step whose loss was not finite (next to ``checkpoint``), then raise."""
    where = ""
    if checkpoint is not None:
        path = Path(checkpoint).with_name(f"{Path(checkpoint).stem}.error{Path(checkpoint).suffix}")
        save_pytree(path, state, {"history": history, "fingerprint": fingerprint, "failed_epoch": epoch + 1,
                                  "failed_batch_start": start})
        where = f"; the state before that step is in {path}"
    raise FloatingPointError(
        f"training loss is {loss} at epoch {epoch + 1} (batch from frame {start}): the optimisation diverged, "
        f"or a loss through MD became NaN (a run whose atoms collapsed, or a short neighbour list that "
        f"overflowed: see the log){where}")


def train(loss_fn: Callable[[Params, Frames], jax.Array], params: Params, train_frames: Frames,
          validation: Callable[[Params], float], settings: TrainSettings, *, checkpoint: str | Path | None = None,
          fingerprint: str = "", progress: bool = True) -> tuple[Params, list[dict]]:
    """Minimise ``loss_fn(params, batch)`` with Adam; returns (best-validation params, history).

    Args:
        loss_fn: loss of a batch of training frames.
        params: starting parameters.
        train_frames: the training set.
        validation: ``params -> validation loss`` (e.g. :func:`mean_loss` on the validation set).
        settings: optimiser settings.
        checkpoint: file the state (parameters, optimiser, best so far, history) is saved to every
            ``checkpoint_every`` epochs; a rerun continues from it and reaches the same numbers as an
            uninterrupted run.
        fingerprint: identifies everything the run depends on (inputs, settings, code); a checkpoint with
            another one is ignored unread, so a changed configuration never resumes a stale run. The
            workflow passes its job's fingerprint (:func:`ffdiff.workflow.job_fingerprint`).
        progress: show a tqdm bar (stderr, i.e. the rule's log).

    History rows: epoch, mean training loss, validation loss.

    Raises:
        FloatingPointError: a batch's loss was not finite; the state before that step is saved next
            to ``checkpoint`` (``<name>.error.npz``), nothing is returned.
    """
    import optax  # only training needs it (the MD-test and error jobs import this module too)

    optimizer = optax.chain(optax.clip_by_global_norm(settings.clip_norm), optax.adam(settings.learning_rate))
    # The optimiser's zero moments in one program, not one per leaf shape; host scalars compile nothing.
    state = {"params": params, "opt_state": jax.jit(optimizer.init)(params), "best_params": params,
             "best_validation": np.asarray(np.inf), "epoch": np.asarray(0)}
    history: list[dict] = []
    if checkpoint is not None and Path(checkpoint).exists():
        if read_metadata(checkpoint).get("fingerprint") == fingerprint:  # before loading: shapes may differ
            state, meta = load_pytree(checkpoint, state)
            history = meta["history"]
            logger.info("resuming from %s at epoch %d", checkpoint, int(state["epoch"]))
        else:
            logger.info("ignoring %s: written for other inputs or settings", checkpoint)

    @jax.jit
    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    n, size = len(train_frames), min(settings.batch_size, len(train_frames))
    epochs = range(int(state["epoch"]), settings.epochs)
    for epoch in tqdm(epochs, desc="epochs", disable=not progress, mininterval=5.0):
        order = np.random.default_rng([settings.seed, epoch]).permutation(n)
        losses = []
        for start in range(0, n - size + 1, size):  # full batches only: one compiled shape
            batch = train_frames.take(order[start:start + size])
            before = dict(state)
            state["params"], state["opt_state"], loss = step(state["params"], state["opt_state"], batch)
            losses.append(float(loss))
            if not np.isfinite(losses[-1]):
                _diverged(losses[-1], epoch, start, before, history, checkpoint, fingerprint)
        loss_val = float(validation(state["params"]))
        if loss_val < float(state["best_validation"]):
            state["best_params"], state["best_validation"] = state["params"], np.asarray(loss_val)
        state["epoch"] = np.asarray(epoch + 1)
        history.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "validation_loss": loss_val})
        logger.info("epoch %d: train %.6g, validation %.6g", epoch + 1, history[-1]["train_loss"], loss_val)
        if checkpoint is not None and ((epoch + 1) % settings.checkpoint_every == 0 or epoch + 1 == settings.epochs):
            save_pytree(checkpoint, state, {"history": history, "fingerprint": fingerprint})
    return state["best_params"], history
