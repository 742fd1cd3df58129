"""The :class:`Potential` record that ties an energy function to its parameters and range."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import jax.numpy as jnp

from ffdiff.exceptions import UnknownParameterError
from ffdiff.potentials import edip, stillinger_weber, tersoff
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
        triplets: whether the energy reads the list's triplets (EDIP and Tersoff do; SW sums its
            three-body term from per-atom moments and needs none, so its lists skip building them).
        lammps_style: ``pair_style`` whose parameter file format this potential reads and writes.
        cutoff_params: parameters the interaction range depends on (a fit of any of them needs
            neighbour lists with a skin).
        per_atom: `[n_atoms]` energies ``(params, position, box, neighbors)`` summing to ``energy``,
            if the energy is such a sum: training then evaluates a batch of frames as one graph
            (:func:`ffdiff.fitting.frames.predict`).
        bounds: legal open interval (lower, upper) of each parameter, None for no bound (a missing
            name: unbounded); bounded fits keep their parameters inside (see the modules' ``BOUNDS``).
        conventional: parameters fixed by convention, which ``fitted="all"`` leaves out.
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
    bounds: Mapping[str, tuple[float | None, float | None]] = dataclasses.field(default_factory=dict)
    conventional: frozenset[str] = frozenset()

    def fitted_names(self, fitted: str | Sequence[str]) -> tuple[str, ...]:
        """The names a fit of ``fitted`` optimises: ``"all"`` is every parameter but the
        :attr:`conventional` ones (in the order of :attr:`default_params`); a list passes through.

        Raises:
            UnknownParameterError: a name that is no parameter of this potential.
        """
        if isinstance(fitted, str):
            if fitted != "all":
                raise ValueError(f"fitted must be 'all' or a list of parameter names, got {fitted!r}")
            return tuple(k for k in self.default_params if k not in self.conventional)
        unknown = sorted(set(fitted) - set(self.default_params))
        if unknown:
            raise UnknownParameterError(f"{self.name} has no parameter {', '.join(map(repr, unknown))}; "
                                        f"expected some of {sorted(self.default_params)} or 'all'")
        return tuple(fitted)

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


@dataclasses.dataclass(frozen=True, eq=False)
class NetworkPotential(Potential):
    """A :class:`Potential` whose parameters are a network's weights (a nested dict of arrays).

    ``default_params`` is empty: the weights have no published values. :meth:`params` returns
    freshly initialised weights (seeded by ``seed``) or validates a complete set passed in. A
    subclass supplies ``config`` and :meth:`initial_weights`.

    Attributes:
        config: network hyperparameters, bound into ``energy``.
        seed: PRNG seed of the default (untrained) weights.
    """

    config: object = None
    seed: int = 0

    def initial_weights(self, key) -> Params:
        """Float64 weights of ``config`` drawn from the PRNG ``key``."""
        raise NotImplementedError

    def params(self, overrides: Params | None = None) -> Params:
        """Initial weights (float64) when ``overrides`` is None, else ``overrides`` checked and as arrays.

        Raises:
            ValueError: ``overrides`` is not a complete weight tree for ``config``.
        """
        import jax

        key = jax.random.key(self.seed)
        if overrides is None:
            return self.initial_weights(key)
        template = jax.eval_shape(self.initial_weights, key)  # shapes only
        if jax.tree.structure(overrides) != jax.tree.structure(template):
            want, got = ({jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_flatten_with_path(t)[0]}
                         for t in (template, overrides))
            raise ValueError(f"{self.name} expects a complete weight tree for {self.config}; "
                             f"missing {sorted(want - got)}, unexpected {sorted(got - want)}")
        for (path, want), got in zip(jax.tree_util.tree_flatten_with_path(template)[0], jax.tree.leaves(overrides),
                                     strict=True):
            if jnp.shape(got) != want.shape:
                raise ValueError(f"{self.name} weight {jax.tree_util.keystr(path)}: "
                                 f"expected shape {want.shape}, got {jnp.shape(got)}")
        return jax.tree.map(jnp.asarray, overrides)


def network_potential(cls: type[NetworkPotential], name: str, config, energy: EnergyFn, *,
                      per_atom: EnergyFn | None = None, seed: int = 0) -> NetworkPotential:
    """A ``cls`` named ``name`` whose energy (and per-atom energies) are ``energy(..., config=config)``:
    pairwise lists (no three-body short list, no triplets), range ``config.cutoff``, no defaults."""
    return cls(name=name, energy=functools.partial(energy, config=config),
               per_atom=None if per_atom is None else functools.partial(per_atom, config=config),
               default_params=MappingProxyType({}), cutoff=lambda params: config.cutoff, three_body=False,
               triplets=False, config=config, seed=seed)


POTENTIALS: Mapping[str, Potential] = MappingProxyType({
    "sw": Potential("sw", stillinger_weber.energy, MappingProxyType(stillinger_weber.DEFAULT_PARAMS),
                    stillinger_weber.cutoff, triplets=False, lammps_style="sw",
                    cutoff_params=frozenset({"a", "sigma"}), bounds=MappingProxyType(stillinger_weber.BOUNDS),
                    conventional=stillinger_weber.CONVENTIONAL),
    "edip": Potential("edip", edip.energy, MappingProxyType(edip.DEFAULT_PARAMS), edip.cutoff,
                      lammps_style="edip", cutoff_params=frozenset({"a"}), bounds=MappingProxyType(edip.BOUNDS),
                      conventional=edip.CONVENTIONAL),
    "tersoff": Potential("tersoff", tersoff.energy, MappingProxyType(tersoff.DEFAULT_PARAMS), tersoff.cutoff,
                         lammps_style="tersoff", cutoff_params=frozenset({"R", "D"}),
                         bounds=MappingProxyType(tersoff.BOUNDS), conventional=tersoff.CONVENTIONAL),
})

