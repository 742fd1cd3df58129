"""Training a potential: an Adam loop over batches of :class:`~ffdiff.fitting.frames.Frames` with a
learning-rate schedule and early stopping that keeps the best-validation parameters, says why it
stopped, and resumes from its checkpoint.

Every epoch uses every training frame: the last batch is filled up with frames of weight zero, so it
has the same shape as the others.
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

from ffdiff.fitting.frames import Frames
from ffdiff.runtime.checkpoint import load_pytree, read_metadata, save_pytree
from ffdiff.typing import Params

logger = logging.getLogger(__name__)

@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Adam on mini-batches with a warm-up, learning-rate decay on plateaus and early stopping; the
    parameters with the lowest validation loss are kept.

    The learning rate rises linearly to ``learning_rate`` over ``warmup_epochs``, then is multiplied by
    ``decay_factor`` whenever the validation loss has not improved (by a relative ``min_delta``) for
    ``decay_patience`` epochs. Training stops when it has not improved for ``patience`` epochs, when
    the learning rate falls below ``min_learning_rate``, or after ``epochs``; the reason is recorded.

    Attributes:
        epochs: most passes over the training frames.
        batch_size: frames per step.
        learning_rate: Adam's peak step size.
        warmup_epochs: epochs of the linear warm-up (0: none).
        decay_patience: epochs without improvement before the learning rate decays.
        decay_factor: factor of each decay (< 1).
        min_learning_rate: training stops once the learning rate falls below it.
        patience: epochs without improvement that stop training.
        min_delta: relative decrease of the validation loss that counts as an improvement.
        clip_norm: global gradient-norm clipping (stabilises the first epochs).
        weights: ``{"energy": w_E, "forces": w_F}`` of :func:`energy_force_loss`.
        seed: shuffling seed (epoch k uses the generator seeded with (seed, k), so a resumed run
            shuffles exactly as an uninterrupted one).
        checkpoint_every: epochs between checkpoints.
        dtype: floating type of the optimisation (parameters, optimiser state and the batches' numbers);
            the parameters returned have the dtype of those passed in. float32 halves the time of a
            step and tracks float64 training to the printed digits (tests/fitting/test_gnn.py).
    """

    epochs: int
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_epochs: int = 0
    decay_patience: int = 10
    decay_factor: float = 0.5
    min_learning_rate: float = 0.0
    patience: int = 1_000_000
    min_delta: float = 1e-3
    clip_norm: float = 1.0
    weights: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"energy": 1.0, "forces": 1.0})
    seed: int = 0
    checkpoint_every: int = 1
    dtype: str = "float64"


def train_settings(config: Mapping, seed: int) -> TrainSettings:
    """:class:`TrainSettings` from the workflow's ``training`` config block."""
    keys = ("epochs", "batch_size", "learning_rate", "warmup_epochs", "decay_patience", "decay_factor",
            "min_learning_rate", "patience", "min_delta", "clip_norm", "checkpoint_every", "dtype")
    return TrainSettings(**{k: config[k] for k in keys}, seed=seed,
                         weights={"energy": config["energy_weight"], "forces": config["force_weight"]})


def padded_batches(n: int, batch_size: int, order: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches of ``min(batch_size, n)`` indices covering ``order`` once, with `[size]` frame weights:
    the last batch is filled up with the first indices of ``order`` at weight 0."""
    size = min(batch_size, n)
    count = -(-n // size)
    index = np.concatenate([order, order[:count * size - n]])
    weight = (np.arange(count * size) < n).astype(np.float64)
    return [(index[k * size:(k + 1) * size], weight[k * size:(k + 1) * size]) for k in range(count)]


def mean_loss(loss_fn: Callable[..., jax.Array], frames, batch_size: int):
    """``params -> mean of loss_fn(params, batch, frame_weight) over all frames``, in batches of one
    shape (the last filled up at weight 0), each weighted by its number of real frames."""
    fn = jax.jit(loss_fn)
    batches = padded_batches(len(frames), batch_size, np.arange(len(frames)))

    def evaluate(params) -> float:
        total = sum(float(fn(params, frames.take(index), weight)) * weight.sum() for index, weight in batches)
        return total / len(frames)

    return evaluate


#: Atoms per piece when a training batch's gradient is accumulated piece by piece: the per-edge
#: intermediates of a few hundred atoms (about 10 edges × 64 hidden features each) stay in a core's
#: cache, and a step over 16 64-atom frames costs half what one pass over all of them does.
CHUNK_ATOMS = 64


def frames_per_chunk(n_frames: int, n_atoms: int, chunk_atoms: int = CHUNK_ATOMS) -> int:
    """The largest divisor of ``n_frames`` whose frames hold at most ``chunk_atoms`` atoms (at least 1).

    Examples:
        >>> frames_per_chunk(16, 64), frames_per_chunk(16, 8), frames_per_chunk(6, 8), frames_per_chunk(4, 216)
        (1, 8, 6, 1)
    """
    return max(d for d in range(1, n_frames + 1) if n_frames % d == 0 and (d * n_atoms <= chunk_atoms or d == 1))


def batch_value_and_grad(loss_fn: Callable[..., jax.Array], params: Params, batch, weight: jax.Array,
                         global_loss: Callable[[Params], jax.Array] | None = None, *,
                         chunk_atoms: int = CHUNK_ATOMS):
    """(loss, gradient in ``params``) of a batch, accumulated over pieces of :func:`frames_per_chunk`
    frames of up to ``chunk_atoms`` atoms (``lax.scan``), plus ``global_loss(params)`` once.

    ``loss_fn(params, frames, frame_weight)`` must be a weighted mean over frames (as
    :func:`energy_force_loss`; a batch that is not :class:`Frames` is one piece), so the batch's loss is the pieces' losses weighted by their share of
    ``weight``. A piece of filler frames only (weight 0) is evaluated at weight 1 and counts 0, so it
    adds exactly nothing. Equal to ``jax.value_and_grad`` of the whole batch's loss up to rounding; the
    backward pass of each piece runs while its intermediates are in cache (2-2.5 times faster for
    64-atom frames on one core).
    """
    if isinstance(batch, Frames):
        value, grads = _accumulated(loss_fn, params, batch, weight, chunk_atoms)
    else:  # any other batch: one piece
        value, grads = jax.value_and_grad(loss_fn)(params, batch, weight)
    if global_loss is not None:
        extra, extra_grads = jax.value_and_grad(global_loss)(params)
        value, grads = value + extra, jax.tree.map(jnp.add, grads, extra_grads)
    return value, grads


def _accumulated(loss_fn, params: Params, batch: Frames, weight: jax.Array, chunk_atoms: int):
    n_frames, n_atoms = batch.position.shape[:2]
    per = frames_per_chunk(n_frames, n_atoms, chunk_atoms)
    pieces = jax.tree.map(lambda x: jnp.reshape(x, (n_frames // per, per, *x.shape[1:])), batch)
    w = jnp.reshape(weight, (n_frames // per, per))
    total = jnp.sum(w, axis=1)
    share = total / jnp.sum(total)
    w = jnp.where(total[:, None] > 0, w, 1.0)

    def piece(carry, args):
        frames, frame_weight, fraction = args
        value, grads = jax.value_and_grad(loss_fn)(params, frames, frame_weight)
        return jax.tree.map(lambda a, b: a + fraction * b, carry, (value, grads)), None

    zero = (jnp.zeros((), weight.dtype), jax.tree.map(jnp.zeros_like, params))
    return jax.lax.scan(piece, zero, (pieces, w, share))[0]


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


@dataclasses.dataclass
class _Plateau:
    """The schedule's and early stopping's bookkeeping, epoch by epoch (kept in the checkpoint)."""

    settings: TrainSettings

    def learning_rate(self, epoch: int, decays: int) -> float:
        s = self.settings
        warm = min(1.0, (epoch + 1) / s.warmup_epochs) if s.warmup_epochs else 1.0
        return s.learning_rate * warm * s.decay_factor**decays

    def after_epoch(self, epoch: int, improved: bool, since_best: int, since_decay: int, decays: int):
        """(since_best, since_decay, decays, stop reason or None) after ``epoch`` (0-based)."""
        s = self.settings
        since_best = 0 if improved else since_best + 1
        since_decay = 0 if improved else since_decay + 1
        if epoch + 1 >= s.warmup_epochs and since_decay >= s.decay_patience:
            decays, since_decay = decays + 1, 0
        if since_best >= s.patience:
            return since_best, since_decay, decays, f"no improvement in {s.patience} epochs"
        if self.learning_rate(epoch + 1, decays) < s.min_learning_rate:
            return since_best, since_decay, decays, (f"learning rate fell below {s.min_learning_rate:g} after "
                                                     f"{decays} decays")
        if epoch + 1 >= s.epochs:
            return since_best, since_decay, decays, f"epoch limit ({s.epochs}) reached"
        return since_best, since_decay, decays, None


def train(loss_fn: Callable[..., jax.Array], params: Params, train_frames, validation: Callable[[Params], float],
          settings: TrainSettings, *, global_loss: Callable[[Params, jax.Array], jax.Array] | None = None,
          checkpoint: str | Path | None = None, fingerprint: str = "",
          progress: bool = True) -> tuple[Params, list[dict], dict]:
    """Minimise ``loss_fn(params, batch, frame_weight) + global_loss(params, key)`` with Adam; returns
    (best-validation params, history, summary).

    Args:
        loss_fn: loss of a batch of training frames, a mean over frames weighted by `[batch]`
            ``frame_weight`` (see :func:`batch_value_and_grad`: its gradient is accumulated piece by piece).
        global_loss: a term of the parameters and a random key (e.g. an RDF loss through MD from
            random starts), added once per step; the key of step k is ``fold_in(key(seed), k)``, so
            every step draws afresh and a resumed run draws what an uninterrupted one would.
        params: starting parameters.
        train_frames: the training set (``len`` and ``take(indices)``).
        validation: ``params -> validation loss`` (e.g. :func:`mean_loss` on the validation set).
        settings: optimiser, schedule and stopping settings.
        checkpoint: file the state (parameters, optimiser, best so far, schedule, history) is saved to
            every ``checkpoint_every`` epochs; a rerun continues from it and reaches the same numbers as
            an uninterrupted run.
        fingerprint: identifies everything the run depends on (inputs, settings, code); a checkpoint with
            another one is ignored unread, so a changed configuration never resumes a stale run. The
            workflow passes its job's fingerprint (:func:`ffdiff.study.jobs.job_fingerprint`).
        progress: show a tqdm bar (stderr, i.e. the rule's log).

    History rows: epoch, steps (so far), learning rate, mean training loss, validation loss; with
    ``global_loss`` also its mean over the epoch's steps (``global_loss``) and its share of the mean
    step loss (``global_share``).
    Summary: epochs, steps, best epoch, best validation loss, stop reason, and ``converged`` (False
    when the epoch limit stopped a run that was still improving).

    Raises:
        FloatingPointError: a batch's loss was not finite; the state before that step is saved next
            to ``checkpoint`` (``<name>.error.npz``), nothing is returned.
    """
    import optax  # only training needs it (the MD-test and error jobs import this module too)

    # Adam's direction, scaled by the epoch's learning rate in the step: a traced argument, so the
    # schedule never recompiles and lives in the checkpoint as a number.
    optimizer = optax.chain(optax.clip_by_global_norm(settings.clip_norm), optax.scale_by_adam())
    plateau = _Plateau(settings)
    work = jnp.dtype(settings.dtype)
    returned = jax.tree.map(lambda x: jnp.asarray(x).dtype, params)
    params = _cast(params, work)
    # The optimiser's zero moments in one program, not one per leaf shape; host scalars compile nothing.
    state = {"params": params, "opt_state": jax.jit(optimizer.init)(params), "best_params": params,
             "best_validation": np.asarray(np.inf), "epoch": np.asarray(0), "steps": np.asarray(0),
             "best_epoch": np.asarray(0), "since_best": np.asarray(0), "since_decay": np.asarray(0),
             "decays": np.asarray(0)}
    history: list[dict] = []
    reason = None
    if checkpoint is not None and Path(checkpoint).exists():
        if read_metadata(checkpoint).get("fingerprint") == fingerprint:  # before loading: shapes may differ
            state, meta = load_pytree(checkpoint, state)
            history, reason = meta["history"], meta.get("stop_reason")
            logger.info("resuming from %s at epoch %d", checkpoint, int(state["epoch"]))
        else:
            logger.info("ignoring %s: written for other inputs or settings", checkpoint)

    @jax.jit
    def step(params, opt_state, batch, weight, learning_rate, key):
        loss, grads = batch_value_and_grad(loss_fn, params, _cast(batch, work), weight.astype(work))
        extra = jnp.zeros((), loss.dtype)
        if global_loss is not None:
            extra, extra_grads = jax.value_and_grad(global_loss)(params, key)
            loss, grads = loss + extra, jax.tree.map(jnp.add, grads, extra_grads)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        updates = jax.tree.map(lambda u: -learning_rate.astype(u.dtype) * u, updates)
        return optax.apply_updates(params, updates), opt_state, loss, extra

    base_key = jax.random.key(settings.seed)

    n = len(train_frames)
    bar = tqdm(total=settings.epochs, initial=int(state["epoch"]), desc="epochs", disable=not progress,
               mininterval=5.0)
    while reason is None:
        epoch = int(state["epoch"])
        lr = plateau.learning_rate(epoch, int(state["decays"]))
        order = np.random.default_rng([settings.seed, epoch]).permutation(n)
        losses, step_losses, extras = [], [], []
        for k, (index, weight) in enumerate(padded_batches(n, settings.batch_size, order)):
            before = dict(state)
            key = jax.random.fold_in(base_key, int(state["steps"]) + k)
            state["params"], state["opt_state"], loss, extra = step(state["params"], state["opt_state"],
                                                                    train_frames.take(index), weight, np.asarray(lr),
                                                                    key)
            losses.append(float(loss) * weight.sum())
            step_losses.append(float(loss))
            extras.append(float(extra))
            if not np.isfinite(losses[-1]):
                _diverged(float(loss), epoch, k * len(index), before, history, checkpoint, fingerprint)
        state["steps"] = np.asarray(int(state["steps"]) + len(losses))
        loss_val = float(validation(state["params"]))
        improved = loss_val < float(state["best_validation"]) * (1.0 - settings.min_delta)
        if loss_val < float(state["best_validation"]):
            state["best_params"], state["best_validation"] = state["params"], np.asarray(loss_val)
            state["best_epoch"] = np.asarray(epoch + 1)
        since_best, since_decay, decays, reason = plateau.after_epoch(
            epoch, improved, int(state["since_best"]), int(state["since_decay"]), int(state["decays"]))
        state.update(epoch=np.asarray(epoch + 1), since_best=np.asarray(since_best),
                     since_decay=np.asarray(since_decay), decays=np.asarray(decays))
        history.append({"epoch": epoch + 1, "steps": int(state["steps"]), "learning_rate": lr,
                        "train_loss": float(np.sum(losses) / n), "validation_loss": loss_val})
        if global_loss is not None:
            history[-1] |= {"global_loss": float(np.mean(extras)),
                            "global_share": float(np.mean(extras) / np.mean(step_losses))}
        logger.info("epoch %d: lr %.3g, train %.6g, validation %.6g%s%s", epoch + 1, lr, history[-1]["train_loss"],
                    loss_val, f", global term {history[-1]['global_share']:.1%} of the loss"
                    if global_loss is not None else "", f"; stopping: {reason}" if reason else "")
        bar.update(1)
        if checkpoint is not None and ((epoch + 1) % settings.checkpoint_every == 0 or reason):
            save_pytree(checkpoint, state, {"history": history, "fingerprint": fingerprint, "stop_reason": reason})
    bar.close()
    summary = {"epochs": int(state["epoch"]), "steps": int(state["steps"]), "best_epoch": int(state["best_epoch"]),
               "best_validation_loss": float(state["best_validation"]), "stop_reason": reason,
               "converged": not reason.startswith("epoch limit")}
    logger.info("training stopped after %d epochs (%d steps): %s; best validation loss %.6g at epoch %d",
                summary["epochs"], summary["steps"], reason, summary["best_validation_loss"], summary["best_epoch"])
    best = jax.tree.map(lambda x, dtype: jnp.asarray(x, dtype), state["best_params"], returned)
    return best, history, summary


def _cast(tree, dtype):
    """``tree`` with every floating leaf in ``dtype`` (integer and boolean leaves unchanged)."""
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)
