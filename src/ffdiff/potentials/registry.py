"""The :class:`Potential` record that ties an energy function to its parameters and range."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

import jax.numpy as jnp

from ffdiff.exceptions import UnknownParameterError
from ffdiff.potentials import edip, stillinger_weber
from ffdiff.typing import CutoffFn, EnergyFn, Params


@dataclasses.dataclass(frozen=True, eq=False)  # identity hash: a key for compiled functions
class Potential:
    """An interatomic potential: ``energy(params, position, box, neighbors)`` plus its metadata.

    Attributes:
        name: registry key, e.g. ``"sw"``.
        energy: pure energy function (see :class:`ffdiff.typing.EnergyFn`).
        default_params: the published parameter set.
        cutoff: interaction range in Å as a function of the parameters.
        three_body: a three-body energy, whose lists get a short list (the edges inside the cutoff,
            selected at every call) so the skin costs little.
        triplets: whether the energy reads the list's triplets (EDIP does; SW sums its three-body
            term from per-atom moments and needs none, so its lists skip building them).
        lammps_style: ``pair_style`` whose parameter file format this potential reads and writes.
        cutoff_params: parameters the interaction range depends on (a fit of any of them needs
            neighbour lists with a skin).
        per_atom: `[n_atoms]` energies ``(params, position, box, neighbors)`` summing to ``energy``,
            if the energy is such a sum: training then evaluates a batch of frames as one graph
            (:func:`ffdiff.fitting.training.predict`).
    """

    name: str
    energy: EnergyFn
    default_params: Mapping[str, float]
    cutoff: CutoffFn
    three_body: bool = True
    triplets: bool = True
    lammps_style: str | None = None
    cutoff_params: frozenset[str] = frozenset()
    per_atom: EnergyFn | None = None

    def params(self, overrides: Mapping[str, float] | None = None) -> Params:
        """Defaults updated with ``overrides``, as float64 scalars.

        Raises:
            UnknownParameterError: an override names no parameter of this potential.
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.default_params))
        if unknown:
            raise UnknownParameterError(
                f"{self.name} has no parameter {', '.join(map(repr, unknown))}; "
                f"expected some of {sorted(self.default_params)}"
            )
        merged = {**self.default_params, **overrides}
        return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in merged.items()}


POTENTIALS: Mapping[str, Potential] = MappingProxyType({
    "sw": Potential("sw", stillinger_weber.energy, MappingProxyType(stillinger_weber.DEFAULT_PARAMS),
                    stillinger_weber.cutoff, triplets=False, lammps_style="sw",
                    cutoff_params=frozenset({"a", "sigma"})),
    "edip": Potential("edip", edip.energy, MappingProxyType(edip.DEFAULT_PARAMS), edip.cutoff,
                      lammps_style="edip", cutoff_params=frozenset({"a"})),
})


def get_potential(name: str | Potential) -> Potential:
    """Look a potential up by name (``"sw"``, ``"edip"``); a :class:`Potential` passes through."""
    if isinstance(name, Potential):
        return name
    try:
        return POTENTIALS[name]
    except KeyError:
        raise ValueError(f"unknown potential {name!r}; expected one of {sorted(POTENTIALS)}") from None
