"""The GNN chain of Gangan et al. §3.4: pretraining and fine-tuning an MPGNN on energies and forces,
fine-tuning on a radial distribution function through differentiable MD, and MD tests.

Models are :mod:`ffdiff.potentials.mpgnn` networks (or jax-md's EnergyGraphNet); their files are
:mod:`ffdiff.potentials.models`'s.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.fitting.frames import Frames, energy_force_loss, errors, stack_frames
from ffdiff.fitting.training import TrainSettings, mean_loss, train
from ffdiff.neighbors import all_pairs
from ffdiff.potentials.models import MODEL_KINDS
from ffdiff.potentials.registry import NetworkPotential, Potential
from ffdiff.md import MDSettings, init_state, simulate
from ffdiff.properties.rdf import rdf_mse, smooth_rdf
from ffdiff.typing import Params

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RDFSettings:
    """Grid and kernel of the smooth g(r) (Å), the config's ``gnn.rdf_grid`` (its defaults are the schema's).

    ``r_max + 4 sigma`` must stay within half the smallest cell width (5.43 Å for 64 atoms).
    """

    r_min: float
    r_max: float
    n_points: int
    sigma: float

    @property
    def grid(self) -> np.ndarray:
        return np.linspace(self.r_min, self.r_max, self.n_points)


def reference_rdf(dataset, rdf: RDFSettings) -> np.ndarray:
    """`[n_points]` smooth g(r) averaged over every frame of a trajectory dataset (one cell)."""
    positions, box = np.asarray(dataset.positions), np.asarray(dataset.cells[0])
    if not np.allclose(dataset.cells, box):
        raise ValueError("a reference RDF needs one fixed cell for all frames")
    return np.asarray(smooth_rdf(jnp.asarray(positions), jnp.asarray(box), rdf.grid, sigma=rdf.sigma))


# --- models ------------------------------------------------------------------------------------------


def model_settings(config: Mapping) -> tuple[str, dict]:
    """(kind, that kind's settings) of a ``gnn.model`` block.

    The block is either per kind, ``{"kind": "energy_graph_net", "mpgnn": {...}, "energy_graph_net":
    {...}}`` (the workflow's: only the chosen kind's sub-block is read, so the other's keys never reach
    it), or flat, ``{"kind": ..., **settings}`` (``kind`` defaults to ``"mpgnn"``).

    Raises:
        ValueError: an unknown kind, or flat settings next to per-kind blocks.
    """
    kind = config.get("kind", "mpgnn")
    if kind not in MODEL_KINDS:
        raise ValueError(f"gnn.model.kind: expected one of {sorted(MODEL_KINDS)}, got {kind!r}")
    blocks = [key for key in config if key in MODEL_KINDS]
    flat = {key: value for key, value in config.items() if key != "kind" and key not in MODEL_KINDS}
    if blocks and flat:
        raise ValueError(f"gnn.model: expected settings inside the per-kind blocks {sorted(MODEL_KINDS)}, "
                         f"got {sorted(flat)} next to them")
    return kind, dict(config.get(kind) or {}) if blocks else flat


def normalisation(dataset) -> dict[str, float]:
    """Starting offset and scale of a model for ``dataset`` (keywords of :func:`new_model`): its mean
    energy per atom (eV) and its force RMS (eV/Å) times 1 Å as the energy scale."""
    return {"energy_per_atom": float(np.mean(dataset.energies)) / dataset.n_atoms,
            "energy_scale": float(np.sqrt(np.mean(np.square(dataset.forces))))}


def new_model(config: Mapping, seed: int, energy_per_atom: float,
              energy_scale: float = 1.0) -> tuple[Potential, Params]:
    """A GNN of the kind and settings of ``config`` (a ``gnn.model`` block, see :func:`model_settings`),
    with weights initialised from ``seed`` and the per-atom offset at the data's mean energy per atom;
    an MPGNN also gets its energy scale at ``energy_scale`` eV (the data's force RMS times 1 Å), so
    training starts at the data's scale (jax-md's EnergyGraphNet has no such scale: only the offset is
    added to it, see :mod:`ffdiff.potentials.graph_network`)."""
    kind, settings = model_settings(config)
    config_class, init, make = MODEL_KINDS[kind]
    net = config_class(**settings)
    scale = {"energy_scale": energy_scale} if kind == "mpgnn" else {}
    params = init(jax.random.key(seed), net, energy_per_atom=energy_per_atom, **scale)
    return make(net), params


# --- energy/force training ---------------------------------------------------------------------------


def split_frames(dataset, model: NetworkPotential, *, fractions, seed: int) -> dict[str, Frames]:
    """The train/validation/test splits of ``dataset`` as batched graphs."""
    indices = dataset.split(fractions=fractions, seed=seed)
    return {name: stack_frames(dataset.take(index), model.config.cutoff) for name, index in indices.items()}


def fit_energies_forces(model: NetworkPotential, params: Params, splits: Mapping[str, Frames],
                        settings: TrainSettings, *, checkpoint=None, fingerprint: str = "",
                        progress: bool = True) -> tuple[Params, list[dict], dict]:
    """Pretraining or fine-tuning on energies and forces (MSE), best validation loss kept; returns
    (params, history, summary) as :func:`ffdiff.fitting.training.train`."""
    loss = lambda p, batch, w: energy_force_loss(model, p, batch, settings.weights, w)  # noqa: E731
    validation = mean_loss(loss, splits["validation"], settings.batch_size)
    return train(loss, params, splits["train"], validation, settings, checkpoint=checkpoint,
                 fingerprint=fingerprint, progress=progress)


# --- RDF fine-tuning through MD ------------------------------------------------------------------


def init_rdf_loss(model: NetworkPotential, starts, box, g_ref, rdf: RDFSettings, md: MDSettings, *, replicas: int):
    """``(params, key) -> MSE(g_model, g_ref)``: g_model the smooth RDF of ``replicas`` MD runs of
    ``model`` side by side (``jax.vmap``), from start frames drawn from ``starts`` (`[F, N, 3]` Å, at
    least ``replicas`` of them) without replacement and velocities drawn from ``key``.

    Each run takes ``md.n_steps`` steps of ``md.timestep_fs`` fs from fresh Maxwell–Boltzmann
    velocities at ``md.temperature_K``; the RDF averages every replica's frames every
    ``md.record_every`` steps.

    The runs use the all-pairs minimum-image list (:func:`ffdiff.neighbors.all_pairs`), which stays
    exact however far atoms move: a liquid at 2000 K moves some atoms 2–3.5 Å in 200 fs, beyond any
    practical skin of a fixed list. At every force evaluation the network sees only the pairs inside
    its cutoff, compacted into a short list with twice the room the densest start needs (64-atom
    liquid: ~700 of 4032 pairs); should they not fit, the loss is NaN and training stops with an error.
    Every step is rematerialised in the backward pass.
    """
    starts, box = jnp.asarray(starts), jnp.asarray(box)
    if starts.ndim != 3 or starts.shape[0] < replicas:
        raise ValueError(f"expected at least {replicas} start frames [F, N, 3], got shape {starts.shape}")
    nbrs = all_pairs(starts.shape[1], np.asarray(box), model.config.cutoff, position=np.asarray(starts))
    grid, g_ref = jnp.asarray(rdf.grid), jnp.asarray(g_ref)

    def run(p, position, key):
        state = init_state(model.energy, p, position, box, nbrs, temperature_K=md.temperature_K, key=key)
        _, frames = simulate(model.energy, p, state, box, nbrs, md)
        return frames[md.record_every - 1::md.record_every]

    def loss(p, key):
        pick, velocities = jax.random.split(key)
        index = jax.random.choice(pick, starts.shape[0], (replicas,), replace=False)
        frames = jax.vmap(run, in_axes=(None, 0, 0))(p, starts[index], jax.random.split(velocities, replicas))
        return rdf_mse(smooth_rdf(frames.reshape(-1, *frames.shape[2:]), box, grid, sigma=rdf.sigma), g_ref)

    return loss


def rdf_weight(share: float, ef_loss: float, rdf_loss: float) -> float:
    """The weight w that makes ``w * rdf_loss`` the fraction ``share`` of ``ef_loss + w * rdf_loss``.

    Examples:
        >>> round(rdf_weight(0.5, 0.3, 0.006), 6), rdf_weight(0.0, 0.3, 0.006)
        (50.0, 0.0)
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"expected an RDF share in [0, 1), got {share}")
    return share / (1.0 - share) * ef_loss / rdf_loss


def fit_rdf(model: NetworkPotential, params: Params, splits: Mapping[str, Frames], starts: Mapping[str, np.ndarray],
            box, g_ref, settings: TrainSettings, rdf: RDFSettings, md: MDSettings, *, replicas: int, share: float,
            checkpoint=None, fingerprint: str = "", progress: bool = True) -> tuple[Params, list[dict], dict, dict]:
    """Continue training on energies and forces plus an RDF term, ``w`` × the RDF MSE of differentiable
    MD (:func:`init_rdf_loss`), with ``w`` set so that the term is ``share`` of the loss at the start
    (:func:`rdf_weight`; ``share=0``: energies and forces only, no MD, the control arm).

    ``starts`` holds ``"train"`` and ``"validation"`` start frames (`[F, N, 3]`): training draws
    replicas from the first, fresh at every step; validation adds ``w`` × the RDF term of the
    second with one fixed key, so every epoch is judged on the same runs.

    Returns (best-validation params, history, summary, diagnostics: weight, share, the E/F and RDF
    losses at the start, the validation RDF MSE at the start and of the returned params).
    """
    ef = lambda p, batch, w: energy_force_loss(model, p, batch, settings.weights, w)  # noqa: E731
    ef_validation = mean_loss(ef, splits["validation"], settings.batch_size)
    ef_start = float(mean_loss(ef, splits["train"], settings.batch_size)(params))
    rdf_train = init_rdf_loss(model, starts["train"], box, g_ref, rdf, md, replicas=replicas)
    rdf_validation = jax.jit(functools.partial(
        init_rdf_loss(model, starts["validation"], box, g_ref, rdf, md, replicas=replicas),
        key=jax.random.key(settings.seed)))
    before = float(rdf_validation(params))
    weight = rdf_weight(share, ef_start, before)
    logger.info("start: E/F loss %.4g, RDF MSE %.4g; weight %.4g makes the RDF term %.0f%% of the loss",
                ef_start, before, weight, 100 * share)
    if weight:
        validation = lambda p: ef_validation(p) + weight * float(rdf_validation(p))  # noqa: E731
        term = lambda p, key: weight * rdf_train(p, key)  # noqa: E731
    else:
        validation, term = ef_validation, None
    best, history, summary = train(ef, params, splits["train"], validation, settings, global_loss=term,
                                   checkpoint=checkpoint, fingerprint=fingerprint, progress=progress)
    diagnostics = {"rdf_weight": weight, "rdf_share_start": share, "ef_loss_start": ef_start,
                   "rdf_mse_start": before, "rdf_mse_best": float(rdf_validation(best))}
    logger.info("validation RDF MSE: %.4g -> %.4g", before, diagnostics["rdf_mse_best"])
    return best, history, summary, diagnostics


def error_rows(model: NetworkPotential, params: Params, splits: Mapping[str, Frames],
               names=("train", "test")) -> dict[str, dict]:
    """Energy and force errors on the ``names`` splits."""
    return {name: errors(model, params, splits[name]) for name in names}
