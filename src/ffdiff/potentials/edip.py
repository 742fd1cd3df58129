"""Environment-dependent interatomic potential (EDIP) for one species, as in LAMMPS ``edip/multi``.

.. math::
    E = \\sum_i \\sum_{j \\ne i} V_2(r_{ij}, Z_i)
        + \\sum_i \\sum_{j<k} g(r_{ij})\\, g(r_{ik})\\, h(\\cos\\theta_{jik}, Z_i)

    Z_i = \\sum_{m \\ne i} f(r_{im}),\\quad
    f(r) = 1\\ (r < c),\\ \\exp(\\alpha / (1 - x^{-3}))\\ (c < r < a),\\ 0\\ (r \\ge a),\\
    x = (r - c)/(a - c)

    V_2(r, Z) = A [(B/r)^\\rho - \\exp(-\\beta Z^2)] \\exp(\\sigma / (r - a)),\\quad
    g(r) = \\exp(\\gamma / (r - a))

    h(l, Z) = \\lambda [1 - \\exp(-Q(Z)(l + \\tau(Z))^2) + \\eta Q(Z) (l + \\tau(Z))^2]

    Q(Z) = Q_0 e^{-\\mu Z},\\quad \\tau(Z) = u_1 + u_2 (u_3 e^{-u_4 Z} - e^{-2 u_4 Z})

The coordination Z_i is the full smooth sum over every neighbour m of i; jax-md 0.2.29 instead
multiplies one f(r_ik) by the neighbour count, which is only right on the perfect lattice.

References:
    J. F. Justo, M. Z. Bazant, E. Kaxiras, V. V. Bulatov and S. Yip, Phys. Rev. B 58, 2539 (1998),
    doi:10.1103/PhysRevB.58.2539
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ffdiff.neighbors import NeighborList, edge_vectors, on_short_list
from ffdiff.potentials._masking import cutoff_exp, distance, inside, triplet_bonds
from ffdiff.typing import Params

DEFAULT_PARAMS: dict[str, float] = {
    "A": 7.9821730,  # eV
    "B": 1.5075463,  # Å
    "a": 3.1213820,  # Å, outer cutoff
    "c": 2.5609104,  # Å, inner cutoff of f
    "alpha": 3.1083847,
    "beta": 0.0070975,
    "eta": 0.2523244,
    "gamma": 1.1247945,  # Å
    "lam": 1.4533108,  # eV
    "mu": 0.6966326,
    "rho": 1.2085196,
    "sigma": 0.5774108,  # Å
    "Q0": 312.1341346,
    "u1": -0.165799,
    "u2": 32.557,
    "u3": 0.286198,
    "u4": 0.66,
}

#: Legal range (lower, upper) of each parameter, None for no bound; open intervals (a bounded fit keeps
#: every parameter strictly inside). LAMMPS's ``pair_style edip/multi`` refuses a negative A, B, a, c,
#: α, β, η, γ, λ, μ, ρ or σ ("Illegal EDIP parameter"); zero is refused here too (it removes a term or
#: collapses a length). Q0 > 0 keeps Q(Z) positive, so h(l, Z) stays bounded below (a negative Q turns
#: 1 − exp(−Q w) into an exponential growth); u1..u4 shape τ(Z) and take any sign. The switch of the
#: coordination f(r) needs c < a; as a per-parameter box that is c < 2.85 Å < a, a split between the
#: published c = 2.561 Å and a = 3.121 Å (either may move ~0.3 Å towards the other).
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "A": (0.0, None),
    "B": (0.0, None),
    "a": (2.85, None),
    "c": (0.0, 2.85),
    "alpha": (0.0, None),
    "beta": (0.0, None),
    "eta": (0.0, None),
    "gamma": (0.0, None),
    "lam": (0.0, None),
    "mu": (0.0, None),
    "rho": (0.0, None),
    "sigma": (0.0, None),
    "Q0": (0.0, None),
    "u1": (None, None),
    "u2": (None, None),
    "u3": (None, None),
    "u4": (None, None),
}

#: EDIP has no integer-valued or conventional parameter: ``fitted: all`` fits all 17.
CONVENTIONAL: frozenset[str] = frozenset()


def cutoff(params: Params) -> float:
    """Interaction range a in Å."""
    return float(params["a"])


def coordination_weight(r: jax.Array, keep: jax.Array, params: Params) -> jax.Array:
    """f(r): 1 below c, a smooth switch to 0 at a; ``r`` must already be safe."""
    a, c = params["a"], params["c"]
    switching = keep & (r > c)
    x = jnp.where(switching, (r - c) / (a - c), 0.5)
    f_switch = jnp.exp(params["alpha"] / (1.0 - x**-3))
    return jnp.where(switching, f_switch, jnp.where(keep, 1.0, 0.0))


def two_body(r, keep, z, params: Params) -> jax.Array:
    """V2(r, Z) per ordered pair in eV."""
    repulsion = (params["B"] / r) ** params["rho"]
    bond_order = jnp.exp(-params["beta"] * z**2)
    radial = jnp.where(keep, params["A"] * (repulsion - bond_order), 0.0)
    return radial * cutoff_exp(params["sigma"], r, params["a"], keep)


def angular(cos_theta, z, params: Params) -> jax.Array:
    """h(l, Z) in eV."""
    q = params["Q0"] * jnp.exp(-params["mu"] * z)
    decay = jnp.exp(-params["u4"] * z)
    tau = params["u1"] + params["u2"] * (params["u3"] * decay - decay**2)
    w = (cos_theta + tau) ** 2
    return params["lam"] * ((1.0 - jnp.exp(-q * w)) + params["eta"] * q * w)


def energy(params: Params, position: jax.Array, box: jax.Array, neighbors: NeighborList) -> jax.Array:
    """Total energy in eV of the configuration (see :class:`ffdiff.typing.EnergyFn`).

    A list with short-list triplets (:func:`ffdiff.neighbors.neighbor_list` with a skin, ``triplets``
    and ``short``) is first reduced to the edges inside ``a`` and their triplets; if they do not fit,
    the energy (and every derivative) is NaN and drivers re-allocate, as for SW.
    """
    return on_short_list(lambda nbrs: _energy_triplets(params, position, box, nbrs), neighbors, position, box,
                         params["a"], triplets=True)


def _energy_triplets(params, position, box, neighbors):
    dr = edge_vectors(position, box, neighbors)
    keep, r = inside(distance(dr, neighbors.edge_mask), neighbors.edge_mask, params["a"])
    z = jax.ops.segment_sum(
        coordination_weight(r, keep, params), neighbors.center, num_segments=position.shape[0]
    )
    z_edge = z[neighbors.center]
    e2 = jnp.sum(two_body(r, keep, z_edge, params))

    first, second, k1, k2, cos = triplet_bonds(dr, r, keep, neighbors)
    g1 = cutoff_exp(params["gamma"], r[first], params["a"], k1)
    g2 = cutoff_exp(params["gamma"], r[second], params["a"], k2)
    h = angular(cos, z_edge[first], params)
    e3 = jnp.sum(jnp.where(k1 & k2, g1 * g2 * h, 0.0))
    return e2 + e3
