"""The GNN chain of Gangan et al. §3.4: pretraining and fine-tuning an MPGNN on energies and forces,
fine-tuning on a radial distribution function through differentiable MD, and MD tests.

Models are :mod:`ffdiff.potentials.mpgnn` networks; their weights travel as ``.npz`` pytrees
(:mod:`ffdiff.checkpoint`) with the network settings in the metadata.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from types import MappingProxyType

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.checkpoint import load_pytree, read_metadata, save_pytree
from ffdiff.fitting.training import (
    Frames,
    TrainSettings,
    energy_force_loss,
    errors,
    mean_loss,
    stack_frames,
    train,
)
from ffdiff.neighbors import all_pairs
from ffdiff.potentials import graph_network, mpgnn
from ffdiff.potentials.registry import NetworkPotential, Potential
from ffdiff.properties.md import init_state, run_md, simulate
from ffdiff.properties.rdf import rdf_mse, smooth_rdf
from ffdiff.typing import Params

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RDFSettings:
    """Grid and kernel of the smooth g(r) (Å).

    ``r_max + 4 sigma`` must stay within half the smallest cell width (5.43 Å for 64 atoms).
    """

    r_min: float = 1.0
    r_max: float = 5.0
    n_points: int = 81
    sigma: float = 0.1

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


#: The GNN kinds of ``gnn.model.kind``: (config class, weight initialiser, potential factory). Both
#: potentials carry ``name`` (= the kind), ``config.cutoff``, ``energy`` and ``params``.
MODEL_KINDS: Mapping[str, tuple] = MappingProxyType({
    "mpgnn": (mpgnn.MPGNNConfig, mpgnn.init_params, mpgnn.potential),
    "energy_graph_net": (graph_network.EnergyGraphNetConfig, graph_network.init_params, graph_network.potential),
})


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


def save_model(path, model: Potential, params: Params, **metadata) -> None:
    """Weights in ``.npz`` with the kind (``"kind"``) and its settings (under the kind's name) in the metadata."""
    save_pytree(path, params, {"kind": model.name, model.name: dataclasses.asdict(model.config), **metadata})


def load_model(path) -> tuple[Potential, Params, dict]:
    """(potential, weights, metadata) of a model file written by :func:`save_model` (a file without
    ``"kind"`` is an MPGNN's)."""
    stored = read_metadata(path)
    kind = stored.get("kind", "mpgnn")
    if kind not in MODEL_KINDS or stored.get(kind) is None:
        raise ValueError(f"{path}: no GNN settings in the file; expected a kind of {sorted(MODEL_KINDS)} and "
                         f"its settings, got kind {kind!r} and keys {sorted(stored)}")
    config_class, init, make = MODEL_KINDS[kind]
    model = make(config_class(**stored[kind]))
    like = jax.eval_shape(lambda key: init(key, model.config), jax.random.key(0))  # shapes only
    params, metadata = load_pytree(path, like)
    return model, params, metadata


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


@dataclasses.dataclass(frozen=True)
class MDSettings:
    """The differentiable simulation: ``n_steps`` of ``dt`` fs from ``start`` with Maxwell–Boltzmann
    velocities at ``temperature_K`` (seeded, the same every epoch), RDF averaged over the frames
    every ``record_every`` steps."""

    n_steps: int = 200
    dt: float = 1.0
    temperature_K: float = 2000.0
    ensemble: str = "nve"
    tau: float = 100.0
    record_every: int = 5
    seed: int = 0


def init_rdf_loss(model: NetworkPotential, start_position, box, g_ref, rdf: RDFSettings, md: MDSettings,
                  params: Params):
    """``(params -> MSE(g_model, g_ref), params -> recorded frames)``, with g_model the smooth RDF of an
    MD run of ``model``.

    The run uses the all-pairs minimum-image list (:func:`ffdiff.neighbors.all_pairs`), which stays
    exact however far atoms move: a liquid at 2000 K moves some atoms 2–3.5 Å in 200 fs, beyond any
    practical skin of a fixed list. At every force evaluation the network sees only the pairs inside
    its cutoff, compacted into a short list with twice the room the start needs (64-atom liquid:
    ~700 of 4032 pairs); should they not fit, the loss is NaN and training stops with an error.
    Every step is rematerialised in the backward pass.
    """
    position, box = jnp.asarray(start_position), jnp.asarray(box)
    nbrs = all_pairs(position.shape[0], np.asarray(box), model.config.cutoff,
                     position=np.asarray(start_position))
    grid, g_ref = jnp.asarray(rdf.grid), jnp.asarray(g_ref)

    def trajectory(p):  # the seeded velocities do not depend on p: the same start every epoch
        state = init_state(model.energy, p, position, box, nbrs, temperature_K=md.temperature_K,
                           key=jax.random.PRNGKey(md.seed))
        _, frames = simulate(model.energy, p, state, box, nbrs, n_steps=md.n_steps, dt=md.dt,
                             ensemble=md.ensemble, temperature_K=md.temperature_K, tau=md.tau)
        return frames[md.record_every - 1::md.record_every]

    def loss(p):
        return rdf_mse(smooth_rdf(trajectory(p), box, grid, sigma=rdf.sigma), g_ref)

    return loss, trajectory


def fit_rdf(model: NetworkPotential, params: Params, splits: Mapping[str, Frames], start_position, box, g_ref,
            settings: TrainSettings, rdf: RDFSettings, md: MDSettings, *, rdf_weight: float, checkpoint=None,
            fingerprint: str = "", progress: bool = True) -> tuple[Params, list[dict], dict, dict]:
    """Fine-tuning on energies and forces plus ``rdf_weight`` × the RDF MSE of a differentiable MD run.

    Returns (best-validation params, history, summary, diagnostics); validation is the energy/force
    loss of the validation frames plus the weighted RDF term.
    """
    rdf_loss, _ = init_rdf_loss(model, start_position, box, g_ref, rdf, md, params)
    ef = lambda p, batch, w: energy_force_loss(model, p, batch, settings.weights, w)  # noqa: E731
    weighted_rdf = lambda p: rdf_weight * rdf_loss(p)  # noqa: E731
    ef_validation = mean_loss(ef, splits["validation"], settings.batch_size)
    rdf_value = jax.jit(rdf_loss)
    validation = lambda p: ef_validation(p) + rdf_weight * float(rdf_value(p))  # noqa: E731
    before = float(rdf_value(params))
    best, history, summary = train(ef, params, splits["train"], validation, settings, global_loss=weighted_rdf,
                                   checkpoint=checkpoint, fingerprint=fingerprint, progress=progress)
    diagnostics = {"rdf_mse_start": before, "rdf_mse_best": float(rdf_value(best))}
    logger.info("RDF MSE of the differentiable run: %.4g -> %.4g", before, diagnostics["rdf_mse_best"])
    return best, history, summary, diagnostics


# --- tests ------------------------------------------------------------------------------------------


def md_test(model: NetworkPotential, params: Params, start_position, box, g_ref, rdf: RDFSettings, *,
            temperature_K: float, n_steps: int, ensemble: str, dt: float = 1.0, tau: float = 100.0,
            record_every: int = 10, skin: float = 1.0, min_distance: float = 1.5, seed: int = 0,
            progress: bool = True) -> dict:
    """An MD test of a model: its RDF against ``g_ref``, whether (and when) the run failed, and its phase.

    The phase check is the teacher's (:mod:`ffdiff.properties.phase`): ``msd_A2``, the mean-squared
    displacement in Å² from the first recorded frame (the start) to the last, centre-of-mass drift
    removed; ``temperature_drift_K``, the mean temperature of the last quarter of the recorded frames
    minus that of the first quarter, in K; ``phase``, ``"liquid"`` if ``msd_A2`` exceeds
    :data:`~ffdiff.properties.phase.MSD_THRESHOLD_A2` (1 Å², meaningful for runs of ~0.5 ps or more),
    else ``"crystal"``.

    A run that fails (non-finite values, a pair closer than ``min_distance`` Å) is reported with its
    failed step and no RDF error and no phase: an RDF or a phase of a broken run would be meaningless.
    Its MSD and temperature drift cover the frames recorded before the failure (None with fewer than
    two).
    """
    from ffdiff.properties.phase import phase_check

    run = run_md(model.energy, params, start_position, box, cutoff=model.config.cutoff, skin=skin,
                 n_steps=n_steps, dt=dt, ensemble=ensemble, temperature_K=temperature_K, tau=tau, seed=seed,
                 record_every=record_every, min_distance=min_distance, three_body=False, progress=progress)
    out = {"stable": bool(run["stable"]), "failed_step": run["failed_step"], "n_steps_done": run["n_steps_done"],
           "temperature_mean_K": float(np.mean(run["temperature"][1:])) if len(run["temperature"]) > 1 else None,
           "r": rdf.grid, "g_ref": np.asarray(g_ref), "msd_A2": None, "temperature_drift_K": None, "phase": None}
    if len(run["positions"]) > 1:
        out |= phase_check(run["positions"], run["temperature"])
    if run["stable"]:
        g = np.asarray(smooth_rdf(jnp.asarray(run["positions"][1:]), jnp.asarray(box), rdf.grid, sigma=rdf.sigma))
        out |= {"g": g, "rdf_mse": float(rdf_mse(g, g_ref))}
    else:
        out["phase"] = None
    return out


def error_rows(model: NetworkPotential, params: Params, splits: Mapping[str, Frames],
               names=("train", "test")) -> dict[str, dict]:
    """Energy and force errors on the ``names`` splits."""
    return {name: errors(model, params, splits[name]) for name in names}
