"""Stillinger–Weber potential for one species, as in LAMMPS ``pair_style sw``.

.. math::
    E = \\sum_{i<j} \\phi_2(r_{ij}) + \\sum_i \\sum_{j<k} \\phi_3(r_{ij}, r_{ik}, \\theta_{jik})

    \\phi_2(r) = A\\epsilon [B (\\sigma/r)^p - (\\sigma/r)^q] \\exp(\\sigma / (r - a\\sigma))

    \\phi_3 = \\lambda\\epsilon (\\cos\\theta_{jik} - \\cos\\theta_0)^2
              \\exp(\\gamma\\sigma / (r_{ij} - a\\sigma)) \\exp(\\gamma\\sigma / (r_{ik} - a\\sigma))

Because φ3 is a polynomial in cos θ, the three-body sum needs no triplets. With bond weights
g_j = exp(γσ / (r_ij − aσ)), unit vectors u_j and the per-atom moments s = Σ g_j, v = Σ g_j u_j,
T = Σ g_j u_j u_jᵀ and q = Σ g_j², the sum over ordered pairs j ≠ k is

.. math::
    \\sum_{j \\ne k} g_j g_k (u_j \\cdot u_k - \\cos\\theta_0)^2
    = \\lVert T \\rVert_F^2 - 2 \\cos\\theta_0 \\lVert v \\rVert^2 + \\cos^2\\theta_0\\, s^2
      - (1 - \\cos\\theta_0)^2 q,

so :func:`energy` costs one pass over the edges, like a pair potential; with a short list
(:func:`ffdiff.neighbors.short_list`) that pass skips the edges in the skin. That matters because a
list with a skin holds diamond's second shell (3.84 Å, just beyond aσ = 3.77 Å): ~16 neighbours
and ~120 listed triplets per atom, of which 4 neighbours and 6 angles lie inside the cutoff at
rest (~6 neighbours at 300 K). The identity is exact;
only rounding differs from the triplet sum (:func:`energy_triplets`, kept as the reference).

Parameter names are LAMMPS's (``lam`` for λ). Defaults are the original silicon set with
ε = 2.16826 eV (LAMMPS's ``Si.sw`` rounds it to 2.1683).

References:
    F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262 (1985), doi:10.1103/PhysRevB.31.5262
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ffdiff.neighbors import NeighborList, edge_vectors, on_short_list
from ffdiff.potentials._masking import cutoff_exp, distance, inside, triplet_bonds
from ffdiff.typing import Params

DEFAULT_PARAMS: dict[str, float] = {
    "epsilon": 2.16826,  # eV
    "sigma": 2.0951,  # Å
    "a": 1.80,  # cutoff in units of sigma
    "lam": 21.0,
    "gamma": 1.20,
    "cos_theta0": -1.0 / 3.0,
    "A": 7.049556277,
    "B": 0.6022245584,
    "p": 4.0,
    "q": 0.0,
}

#: Legal range (lower, upper) of each parameter, None for no bound; open intervals (a bounded fit keeps
#: every parameter strictly inside). LAMMPS's ``pair_style sw`` refuses a negative ε, σ, a, λ, γ, A, B,
#: p or q ("Illegal Stillinger-Weber parameter"); zero is refused here too, as it switches a term off
#: (ε, A, λ, γ), collapses the length scale (σ) or makes (σ/r)^p no repulsion (p). a > 1 keeps the
#: cutoff aσ beyond σ, the scale of the pair well (its minimum lies at ≈1.12σ for the published B, p, q).
#: cos θ0 is a cosine. q's legal range is [0, ∞): its published value 0 sits on the bound, so a
#: bounded fit of q must start from a positive override.
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "epsilon": (0.0, None),
    "sigma": (0.0, None),
    "a": (1.0, None),
    "lam": (0.0, None),
    "gamma": (0.0, None),
    "cos_theta0": (-1.0, 1.0),
    "A": (0.0, None),
    "B": (0.0, None),
    "p": (0.0, None),
    "q": (0.0, None),
}

#: Parameters ``fitted: all`` leaves at their values: q = 0 is the form's convention (a constant
#: attraction factor) and lies on its bound. LAMMPS's tol column is not a parameter here (written as 0).
#: ε is redundant with A and λ (only Aε and λε enter): an all-parameter fit is ill-conditioned and
#: relies on the regularisation towards the starting values.
CONVENTIONAL = frozenset({"q"})


def cutoff(params: Params) -> float:
    """Interaction range a·σ in Å."""
    return float(params["a"]) * float(params["sigma"])


def two_body(r: jax.Array, keep: jax.Array, params: Params) -> jax.Array:
    """φ2 per pair in eV; ``r`` must already be safe (see :func:`inside`)."""
    sigma, r_cut = params["sigma"], params["a"] * params["sigma"]
    log_sr = jnp.log(sigma / r)  # one log for both powers: ``**`` with traced exponents takes one each
    radial = params["B"] * jnp.exp(params["p"] * log_sr) - jnp.exp(params["q"] * log_sr)
    return jnp.where(keep, params["A"] * params["epsilon"] * radial, 0.0) * cutoff_exp(
        sigma, r, r_cut, keep
    )


def three_body(r1, keep1, r2, keep2, cos_theta, params: Params) -> jax.Array:
    """φ3 per triplet in eV for bonds of safe lengths r1, r2 meeting at angle θ."""
    r_cut, gs = params["a"] * params["sigma"], params["gamma"] * params["sigma"]
    angular = (cos_theta - params["cos_theta0"]) ** 2
    radial = cutoff_exp(gs, r1, r_cut, keep1) * cutoff_exp(gs, r2, r_cut, keep2)
    return params["lam"] * params["epsilon"] * angular * radial


def energy(params: Params, position: jax.Array, box: jax.Array, neighbors: NeighborList) -> jax.Array:
    """Total energy in eV of the configuration (see :class:`ffdiff.typing.EnergyFn`); triplets unused.

    With a short-list capacity the edges inside aσ are compacted first; if they do not fit, the
    energy is NaN (so are its derivatives): no term is ever dropped silently, and drivers re-allocate
    (:func:`ffdiff.neighbors.on_short_list`).
    """
    return on_short_list(lambda nbrs: _energy_edges(params, position, box, nbrs), neighbors, position, box,
                         params["a"] * params["sigma"], triplets=False)


def _energy_edges(params, position, box, neighbors):
    dr = edge_vectors(position, box, neighbors)
    r_cut = params["a"] * params["sigma"]
    keep, r = inside(distance(dr, neighbors.edge_mask), neighbors.edge_mask, r_cut)
    e2 = 0.5 * jnp.sum(two_body(r, keep, params))  # every pair is listed as (i, j) and (j, i)
    g = cutoff_exp(params["gamma"] * params["sigma"], r, r_cut, keep)  # 0 beyond the cutoff and on padding
    u = dr / r[:, None]
    x, y, z = u[:, 0], u[:, 1], u[:, 2]
    moments = g[:, None] * jnp.stack([jnp.ones_like(g), x, y, z, x * x, y * y, z * z, x * y, x * z, y * z, g],
                                     axis=1)
    m = jax.ops.segment_sum(moments, neighbors.center, num_segments=position.shape[0])
    s, v, t_diag, t_off, q = m[:, 0], m[:, 1:4], m[:, 4:7], m[:, 7:10], m[:, 10]
    c0 = params["cos_theta0"]
    pairs = (jnp.sum(t_diag**2, axis=1) + 2.0 * jnp.sum(t_off**2, axis=1) - 2.0 * c0 * jnp.sum(v**2, axis=1)
             + c0**2 * s**2 - (1.0 - c0) ** 2 * q)  # sum over ordered pairs j != k: twice the j < k sum
    e3 = 0.5 * params["lam"] * params["epsilon"] * jnp.sum(pairs)
    return e2 + e3


def energy_triplets(params: Params, position: jax.Array, box: jax.Array, neighbors: NeighborList) -> jax.Array:
    """:func:`energy` summed over the listed triplets (the list needs them): the direct definition."""
    dr = edge_vectors(position, box, neighbors)
    keep, r = inside(distance(dr, neighbors.edge_mask), neighbors.edge_mask, params["a"] * params["sigma"])
    e2 = 0.5 * jnp.sum(two_body(r, keep, params))
    first, second, k1, k2, cos = triplet_bonds(dr, r, keep, neighbors)
    e3 = jnp.sum(jnp.where(k1 & k2, three_body(r[first], k1, r[second], k2, cos, params), 0.0))
    return e2 + e3
