"""Potentials by name: the published classical ones and the GNN kinds."""

from __future__ import annotations

from ffdiff.potentials.models import MODEL_KINDS, network
from ffdiff.potentials.registry import POTENTIALS, Potential


def get_potential(name: str | Potential, **settings) -> Potential:
    """Look a potential up by name (``"sw"``, ``"edip"``, ``"tersoff"``); a :class:`Potential` passes through.

    A GNN kind (``"mpgnn"``, ``"energy_graph_net"``) gives a network with ``settings`` as its network
    settings (e.g. ``cutoff=3.5``; the defaults otherwise) and no trained weights:
    ``potential.params()`` draws random ones. A trained model's file gives its network and weights
    through :func:`ffdiff.potentials.models.load_model` or :meth:`ffdiff.Calculator.from_file`.

    Examples:
        >>> get_potential("mpgnn", cutoff=3.5, n_steps=2).config.n_steps
        2
    """
    if isinstance(name, Potential):
        return name
    if name in MODEL_KINDS:
        return network(name, **settings)
    if settings:
        raise TypeError(f"{name} takes no settings; got {sorted(settings)}")
    try:
        return POTENTIALS[name]
    except KeyError:
        raise ValueError(f"unknown potential {name!r}; expected one of {sorted([*POTENTIALS, *MODEL_KINDS])}") from None
