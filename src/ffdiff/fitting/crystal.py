"""Scalar targets of the zero-pressure crystal: lattice constant, cohesive energy, bulk modulus and
phase energy differences, each with a reference value, its standard deviation and its source.

Every quantity is taken at the potential's own zero-pressure geometry
(:func:`ffdiff.properties.equilibrium.equilibrium_crystal`, differentiable in every parameter by
implicit differentiation), whatever geometry the fit's other targets use:

- ``lattice_constant``: a0 of cubic diamond (Å);
- ``cohesive_energy``: −E/atom of diamond at a0 (eV/atom; the classical potentials' isolated atom has
  zero energy, so this is the energy to take the crystal apart into atoms);
- ``bulk_modulus``: B of diamond at a0 (GPa);
- ``phase_energy``: E/atom of another structure at its own zero-pressure cell minus that of diamond
  (eV/atom; ``structure`` one of β-Sn, simple cubic, bcc, fcc).

The loss is ‖r‖ with r_k = (q_k(θ) − q_k,ref) / σ_k: dimensionless, each target counted in units of
its own uncertainty, so that targets of different units add up, and the residual of the Laplace
posterior (:mod:`ffdiff.fitting.uncertainty`) with unit noise.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.potentials import Potential
from ffdiff.properties.equilibrium import STRUCTURES, equilibrium_crystal
from ffdiff.typing import Array, Params

#: Each quantity's unit and the name its value has in tables.
QUANTITIES = {"lattice_constant": ("Å", "a0"), "cohesive_energy": ("eV/atom", "E_coh"),
              "bulk_modulus": ("GPa", "B"), "phase_energy": ("eV/atom", "dE")}
PHASES = tuple(s for s in STRUCTURES if s != "diamond")


@dataclasses.dataclass(frozen=True)
class CrystalTarget:
    """One scalar target.

    Attributes:
        quantity: one of :data:`QUANTITIES`.
        value: the reference value, in the quantity's unit.
        std: its standard deviation (same unit, > 0): the loss's scale and the posterior's noise.
        source: where the value comes from (printed with the results).
        structure: ``"diamond"``; for ``phase_energy`` the other structure (one of :data:`PHASES`).
    """

    quantity: str
    value: float
    std: float
    source: str = ""
    structure: str = "diamond"

    def __post_init__(self):
        if self.quantity not in QUANTITIES:
            raise ValueError(f"unknown crystal target {self.quantity!r}; expected one of {sorted(QUANTITIES)}")
        if (self.quantity == "phase_energy") != (self.structure in PHASES) or self.structure not in STRUCTURES:
            expected = f"one of {list(PHASES)}" if self.quantity == "phase_energy" else "'diamond'"
            raise ValueError(f"{self.quantity}: structure {self.structure!r}; expected {expected}")
        if not (math.isfinite(self.value) and math.isfinite(self.std) and self.std > 0):
            raise ValueError(f"{self.name}: expected a finite value and a finite std > 0, got {self.value!r} ± "
                             f"{self.std!r}")

    @property
    def name(self) -> str:
        """Its column in tables: ``a0``, ``E_coh``, ``B`` or ``dE_<structure>``."""
        short = QUANTITIES[self.quantity][1]
        return f"{short}_{self.structure}" if self.quantity == "phase_energy" else short

    @property
    def key(self) -> tuple[str, str]:
        return self.quantity, self.structure


def crystal_targets(config: Mapping | None) -> tuple[CrystalTarget, ...]:
    """Targets from the study's ``fits.targets`` block: ``{quantity: {value, std, source}}`` and
    ``phase_energy: {structure: {value, std, source}}``; absent or null entries are no target."""
    out = []
    for quantity, entry in (config or {}).items():
        if entry is None:
            continue
        if quantity == "phase_energy":
            out += [CrystalTarget(quantity, **_numbers(e), structure=s) for s, e in entry.items() if e is not None]
        else:
            out.append(CrystalTarget(quantity, **_numbers(entry)))
    return tuple(out)


def _numbers(entry: Mapping) -> dict:
    return {"value": float(entry["value"]), "std": float(entry["std"]), "source": str(entry.get("source", ""))}


def crystal_properties(potential: Potential, params: Params, keys: Sequence[tuple[str, str]]) -> Array:
    """`[len(keys)]` values of (quantity, structure) ``keys`` at ``params``, differentiable; one
    relaxation per structure."""
    crystals = {s: equilibrium_crystal(potential, params, s) for s in dict.fromkeys(["diamond", *(s for _, s in keys)])}
    diamond = crystals["diamond"]
    values = {"lattice_constant": lambda s: diamond["lattice_constant"],
              "cohesive_energy": lambda s: -diamond["energy_per_atom"],
              "bulk_modulus": lambda s: diamond["bulk_modulus"],
              "phase_energy": lambda s: crystals[s]["energy_per_atom"] - diamond["energy_per_atom"]}
    return jnp.stack([values[q](s) for q, s in keys])


def crystal_data(targets: Sequence[CrystalTarget]):
    """(static keys, device data (values, stds)) of a crystal loss over ``targets``."""
    if not targets:
        raise ValueError("a crystal loss needs at least one target (fits.targets)")
    keys = tuple(t.key for t in targets)
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate crystal targets {[t.name for t in targets]}")
    return keys, jax.device_put((np.array([t.value for t in targets]), np.array([t.std for t in targets])))


def crystal_residual(potential: Potential, keys, params: Params, data) -> tuple[Array, dict[str, Array]]:
    """`[n]` residual (q − q_ref) / σ; aux ``{"values": `[n]` q}``, in the order of ``keys``."""
    values, stds = data
    q = crystal_properties(potential, params, keys)
    return (q - values) / stds, {"values": q}


def crystal_values(potential: Potential, keys, params: Params, data=None) -> tuple[Array, None]:
    """`[n]` values of ``keys`` as a vector ``fn(params, data) -> (values, None)`` (for the delta method)."""
    return crystal_properties(potential, params, keys), None
