"""Loss functions ``loss(params) -> scalar`` of the property fits (pure, differentiable)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import jax.numpy as jnp

from ffdiff.neighbors import NeighborList
from ffdiff.properties.elastic import elastic_constants, paper_convention
from ffdiff.properties.phonons import force_constants
from ffdiff.typing import Array, EnergyFn, Params

LossFn = Callable[[Params], Array]
Convention = Literal["standard", "paper"]


def frobenius(a: Array, b: Array) -> Array:
    """‖a − b‖_F."""
    return jnp.sqrt(jnp.sum((a - b) ** 2))


def in_convention(c: Array, convention: Convention) -> Array:
    """A standard `[6, 6]` stiffness in the requested convention."""
    if convention == "paper":
        return paper_convention(c)
    if convention == "standard":
        return c
    raise ValueError(f"unknown elastic convention {convention!r}; expected 'standard' or 'paper'")


def init_elastic_loss(energy_fn: EnergyFn, position: Array, box: Array, neighbors: NeighborList,
                      target: Array, convention: Convention = "standard") -> LossFn:
    """‖C(params) − C_ref‖_F over the relaxed `[6, 6]` Voigt matrix in GPa.

    ``target`` is in the standard convention; with ``convention="paper"`` both matrices get their
    shear block doubled first, as in Gangan et al.'s tables.
    """
    ref = in_convention(jnp.asarray(target), convention)

    def loss(params: Params) -> Array:
        c = elastic_constants(energy_fn, params, position, box, neighbors)["relaxed"]
        return frobenius(in_convention(c, convention), ref)

    return loss


def init_force_constant_loss(energy_fn: EnergyFn, position: Array, box: Array, neighbors: NeighborList,
                             target: Array) -> LossFn:
    """‖Φ(params) − Φ_ref‖_F over the `[n, n, 3, 3]` force constants in eV/Å² (same atom order)."""
    ref = jnp.asarray(target)

    def loss(params: Params) -> Array:
        return frobenius(force_constants(energy_fn, params, position, box, neighbors), ref)

    return loss


def init_weighted_loss(losses: Mapping[str, LossFn], weights: Mapping[str, float]) -> LossFn:
    """Σ_k w_k · loss_k(params) (the multi-objective fit)."""
    if set(losses) != set(weights):
        raise ValueError(f"weights {sorted(weights)} do not match losses {sorted(losses)}")

    def loss(params: Params) -> Array:
        return sum(weights[k] * fn(params) for k, fn in losses.items())

    return loss
