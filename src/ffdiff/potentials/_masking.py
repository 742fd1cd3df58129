"""Masked distance algebra that stays finite, with finite gradients, on padded and far pairs.

The "double where": padded or out-of-range entries get a harmless stand-in value *before* any
singular operation and are zeroed *after* it, so no NaN or inf reaches the backward pass
(a single ``where`` around the result would still let 0 * inf = NaN into the gradient).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def distance(dr: jax.Array, mask: jax.Array) -> jax.Array:
    """`[...]` lengths of `[..., 3]` vectors in Å; 1 Å stands in where ``mask`` is False."""
    d2 = jnp.sum(dr * dr, axis=-1)
    return jnp.sqrt(jnp.where(mask, d2, 1.0))


def cosine(dr1: jax.Array, r1: jax.Array, dr2: jax.Array, r2: jax.Array) -> jax.Array:
    """Cosine of the angle between two bond vectors with (safe, positive) lengths r1, r2."""
    return jnp.sum(dr1 * dr2, axis=-1) / (r1 * r2)


def inside(r: jax.Array, mask: jax.Array, r_cut) -> tuple[jax.Array, jax.Array]:
    """(mask & r < r_cut, r with a stand-in of r_cut / 2 elsewhere)."""
    keep = mask & (r < r_cut)
    return keep, jnp.where(keep, r, 0.5 * r_cut)


def cutoff_exp(numerator, r: jax.Array, r_cut, keep: jax.Array) -> jax.Array:
    """exp(numerator / (r - r_cut)) where ``keep`` (r < r_cut), exactly 0 elsewhere.

    It vanishes with all derivatives at r_cut; the denominator is replaced before the division so
    the gradient of the discarded branch is 0, not 0 * inf.
    """
    den = jnp.where(keep, r - r_cut, -1.0)
    return jnp.where(keep, jnp.exp(numerator / den), 0.0)


def triplet_bonds(dr, r, keep, neighbors):
    """Per triplet: (first edge, second edge, first kept, second kept, cos θ) from edge data."""
    first, second = neighbors.triplets[:, 0], neighbors.triplets[:, 1]
    keep1 = keep[first] & neighbors.triplet_mask
    keep2 = keep[second] & neighbors.triplet_mask
    return first, second, keep1, keep2, cosine(dr[first], r[first], dr[second], r[second])
