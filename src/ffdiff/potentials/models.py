"""Trained networks on disk: the GNN kinds, and one ``.npz`` file per model holding its weights (a
pytree of :mod:`ffdiff.runtime.checkpoint`) with its kind and settings in the metadata. Such a file is
what the study's GNN stages write and what :meth:`ffdiff.Calculator.from_file` reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

import jax

from ffdiff.potentials import graph_network, mpgnn
from ffdiff.potentials.registry import Potential
from ffdiff.runtime.checkpoint import load_pytree, read_metadata, save_pytree
from ffdiff.typing import Params

#: The GNN kinds of ``gnn.model.kind``: (config class, weight initialiser, potential factory). Both
#: potentials carry ``name`` (= the kind), ``config.cutoff``, ``energy`` and ``params``.
MODEL_KINDS: Mapping[str, tuple] = MappingProxyType({
    "mpgnn": (mpgnn.MPGNNConfig, mpgnn.init_params, mpgnn.potential),
    "energy_graph_net": (graph_network.EnergyGraphNetConfig, graph_network.init_params, graph_network.potential),
})


def network(kind: str, **settings) -> Potential:
    """The untrained network of ``kind`` (a key of :data:`MODEL_KINDS`) with ``settings``."""
    config_class, _, make = MODEL_KINDS[kind]
    return make(config_class(**settings))


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
    model = network(kind, **stored[kind])
    init = MODEL_KINDS[kind][1]
    like = jax.eval_shape(lambda key: init(key, model.config), jax.random.key(0))  # shapes only
    params, metadata = load_pytree(path, like)
    return model, params, metadata
