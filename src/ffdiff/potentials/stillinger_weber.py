"""Stillinger–Weber potential for one species, as in LAMMPS ``pair_style sw``.

.. math::
    E = \\sum_{i<j} \\phi_2(r_{ij}) + \\sum_i \\sum_{j<k} \\phi_3(r_{ij}, r_{ik}, \\theta_{jik})

    \\phi_2(r) = A\\epsilon [B (\\sigma/r)^p - (\\sigma/r)^q] \\exp(\\sigma / (r - a\\sigma))

    \\phi_3 = \\lambda\\epsilon (\\cos\\theta_{jik} - \\cos\\theta_0)^2
              \\exp(\\gamma\\sigma / (r_{ij} - a\\sigma)) \\exp(\\gamma\\sigma / (r_{ik} - a\\sigma))

Parameter names are LAMMPS's (``lam`` for λ). Defaults are the original silicon set with
ε = 2.16826 eV (LAMMPS's ``Si.sw`` rounds it to 2.1683).

References:
    F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262 (1985), doi:10.1103/PhysRevB.31.5262
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ffdiff.neighbors import NeighborList, edge_vectors
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


def cutoff(params: Params) -> float:
    """Interaction range a·σ in Å."""
    return float(params["a"]) * float(params["sigma"])


def two_body(r: jax.Array, keep: jax.Array, params: Params) -> jax.Array:
    """φ2 per pair in eV; ``r`` must already be safe (see :func:`inside`)."""
    sigma, r_cut = params["sigma"], params["a"] * params["sigma"]
    s_r = sigma / r
    radial = params["B"] * s_r ** params["p"] - s_r ** params["q"]
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
    """Total energy in eV of the configuration (see :class:`ffdiff.typing.EnergyFn`)."""
    dr = edge_vectors(position, box, neighbors)
    keep, r = inside(distance(dr, neighbors.edge_mask), neighbors.edge_mask, params["a"] * params["sigma"])
    e2 = 0.5 * jnp.sum(two_body(r, keep, params))  # every pair is listed as (i, j) and (j, i)
    first, second, k1, k2, cos = triplet_bonds(dr, r, keep, neighbors)
    e3 = jnp.sum(jnp.where(k1 & k2, three_body(r[first], k1, r[second], k2, cos, params), 0.0))
    return e2 + e3
