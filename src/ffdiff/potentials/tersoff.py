"""Tersoff potential for one species, as in LAMMPS ``pair_style tersoff``.

.. math::
    E = \\frac{1}{2} \\sum_i \\sum_{j \\ne i} f_C(r_{ij}) [f_R(r_{ij}) + b_{ij} f_A(r_{ij})]

    f_R(r) = A e^{-\\lambda_1 r},\\quad f_A(r) = -B e^{-\\lambda_2 r}

    f_C(r) = 1\\ (r < R - D),\\
             \\tfrac12 - \\tfrac12 \\sin\\big(\\tfrac{\\pi}{2} (r - R) / D\\big)\\ (R - D < r < R + D),\\
             0\\ (r > R + D)

    b_{ij} = (1 + \\beta^n \\zeta_{ij}^n)^{-1/(2n)},\\quad
    \\zeta_{ij} = \\sum_{k \\ne i, j} f_C(r_{ik})\\, g(\\theta_{ijk})\\,
                  \\exp\\big[(\\lambda_3 (r_{ij} - r_{ik}))^m\\big]

    g(\\theta) = \\gamma \\Big(1 + \\frac{c^2}{d^2} - \\frac{c^2}{d^2 + (h - \\cos\\theta)^2}\\Big)

with LAMMPS's conventions: ``costheta0`` is the file's h; the m exponent applies to the product
λ3 (r_ij − r_ik); the exponential's argument is capped at 69.0776 (exp = 1e30), as LAMMPS caps it.
LAMMPS accepts m = 1 or 3 only; here the power is the odd extension x |x|^(m−1), equal to x^m at
those values, so that m too has a derivative. b_ij is evaluated in closed form (LAMMPS switches to
its asymptotic expansions where they agree with it to 1e-16 relative).

Parameter names are those of the LAMMPS file columns; defaults are LAMMPS's ``Si.tersoff``, Tersoff's
first silicon set, Si(B) (often called T2): equilibrium a = 5.4312 Å, −4.6304 eV/atom, and a soft
relaxed C44 of 10.3 GPa (C11 = 121.75, C12 = 85.86 GPa at a = 5.431 Å). The later Si(C) ("T3", Phys.
Rev. B 38, 9902) is the ``Si(C) Si(C) Si(C)`` entry of LAMMPS's ``SiCGe.tersoff``.

References:
    J. Tersoff, Phys. Rev. B 37, 6991 (1988), doi:10.1103/PhysRevB.37.6991
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ffdiff.neighbors import NeighborList, edge_vectors, on_short_list
from ffdiff.potentials._masking import distance, inside, triplet_bonds
from ffdiff.typing import Params

DEFAULT_PARAMS: dict[str, float] = {
    "m": 3.0,
    "gamma": 1.0,
    "lambda3": 1.3258,  # 1/Å
    "c": 4.8381,
    "d": 2.0417,
    "costheta0": 0.0,  # LAMMPS's h
    "n": 22.956,
    "beta": 0.33675,
    "lambda2": 1.3258,  # 1/Å
    "B": 95.373,  # eV
    "R": 3.0,  # Å
    "D": 0.2,  # Å
    "lambda1": 3.2394,  # 1/Å
    "A": 3264.7,  # eV
}

#: Legal range (lower, upper) of each parameter, None for no bound; open intervals (a bounded fit keeps
#: every parameter strictly inside). LAMMPS's ``pair_style tersoff`` refuses a negative c, d, n, β, λ2,
#: B, R, D, λ1, A or γ, D > R, and m other than 1 or 3 ("Illegal Tersoff parameter"); zero is refused
#: here too, as g(θ) divides by d², b_ij by n, and the others switch a term off. D < R, as a
#: per-parameter box, is D < 1 Å < R (published silicon and carbon sets have D ≤ 0.3 Å, R ≥ 1.8 Å).
#: λ3 and h (``costheta0``) are unchecked by LAMMPS and valid at any value (T3 has λ3 = 0, carbon sets
#: h < 0). m is bounded to m > 0, where ffdiff's odd power x|x|^(m−1) is smooth, but LAMMPS accepts
#: only m = 1 or 3.
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "m": (0.0, None),
    "gamma": (0.0, None),
    "lambda3": (None, None),
    "c": (0.0, None),
    "d": (0.0, None),
    "costheta0": (None, None),
    "n": (0.0, None),
    "beta": (0.0, None),
    "lambda2": (0.0, None),
    "B": (0.0, None),
    "R": (1.0, None),
    "D": (0.0, 1.0),
    "lambda1": (0.0, None),
    "A": (0.0, None),
}

#: Parameters ``fitted: all`` leaves at their values: m, an integer for LAMMPS (1 or 3); R and D, which
#: place the cutoff window between the first and second neighbour shells by construction (2.35 and
#: 3.84 Å in Si: a fit free to widen it pulls the second shell in). β and γ enter ζ only as the product
#: βγ (redundant): an all-parameter fit relies on the regularisation there.
CONVENTIONAL = frozenset({"m", "R", "D"})

EXP_CAP = 69.0776  # LAMMPS's bound on the argument of exp[(λ3 Δr)^m]


def cutoff(params: Params) -> float:
    """Interaction range R + D in Å."""
    return float(params["R"]) + float(params["D"])


def cutoff_function(r: jax.Array, keep: jax.Array, params: Params) -> jax.Array:
    """f_C(r): 1 below R − D, a sine switch to 0 at R + D, 0 where ``keep`` is False."""
    big_r, big_d = params["R"], params["D"]
    switch = 0.5 * (1.0 - jnp.sin(0.5 * jnp.pi * (r - big_r) / big_d))
    return jnp.where(keep & (r < big_r - big_d), 1.0, jnp.where(keep & (r < big_r + big_d), switch, 0.0))


def angular(cos_theta: jax.Array, params: Params) -> jax.Array:
    """g(θ), dimensionless."""
    c2, d2 = params["c"] ** 2, params["d"] ** 2
    return params["gamma"] * (1.0 + c2 / d2 - c2 / (d2 + (params["costheta0"] - cos_theta) ** 2))


def _odd_power(x: jax.Array, m) -> jax.Array:
    """x |x|^(m−1), finite with finite derivatives at x = 0 (where it is x for m = 1, else 0)."""
    nonzero = x != 0.0
    log_abs = jnp.log(jnp.abs(jnp.where(nonzero, x, 1.0)))
    return x * jnp.where(nonzero, jnp.exp((m - 1.0) * log_abs), jnp.where(m == 1.0, 1.0, 0.0))


def bond_order(zeta: jax.Array, params: Params) -> jax.Array:
    """b = (1 + (β ζ)^n)^(−1/(2n)); 1 where β ζ is 0 (no neighbour k), with finite derivatives."""
    n, t = params["n"], params["beta"] * zeta
    positive = t > 0.0
    log_t = jnp.log(jnp.where(positive, t, 1.0))
    log_sum = jnp.where(positive, jnp.logaddexp(0.0, n * log_t), 0.0)  # log(1 + t^n) without overflow
    return jnp.exp(-log_sum / (2.0 * n))


def energy(params: Params, position: jax.Array, box: jax.Array, neighbors: NeighborList) -> jax.Array:
    """Total energy in eV of the configuration (see :class:`ffdiff.typing.EnergyFn`).

    A list with short-list triplets (:func:`ffdiff.neighbors.neighbor_list` with a skin, ``triplets``
    and ``short``) is first reduced to the edges inside R + D and their triplets; if they do not fit,
    the energy (and every derivative) is NaN and drivers re-allocate, as for SW and EDIP.
    """
    return on_short_list(lambda nbrs: _energy_triplets(params, position, box, nbrs), neighbors, position, box,
                         params["R"] + params["D"], triplets=True)


def _energy_triplets(params, position, box, neighbors):
    dr = edge_vectors(position, box, neighbors)
    keep, r = inside(distance(dr, neighbors.edge_mask), neighbors.edge_mask, params["R"] + params["D"])
    fc = cutoff_function(r, keep, params)
    repulsive = params["A"] * jnp.exp(-params["lambda1"] * r)
    attractive = -params["B"] * jnp.exp(-params["lambda2"] * r)

    # ζ of every edge: each listed triplet (e1, e2) is both (ij = e1, ik = e2) and (ij = e2, ik = e1).
    first, second, k1, k2, cos = triplet_bonds(dr, r, keep, neighbors)
    g = jnp.where(k1 & k2, angular(cos, params), 0.0)

    def zeta_term(ij, ik):
        arg = _odd_power(params["lambda3"] * (r[ij] - r[ik]), params["m"])
        return fc[ik] * g * jnp.exp(jnp.minimum(arg, EXP_CAP))

    n_edges = r.shape[0]
    zeta = (jax.ops.segment_sum(zeta_term(first, second), first, num_segments=n_edges)
            + jax.ops.segment_sum(zeta_term(second, first), second, num_segments=n_edges))
    pair = fc * (repulsive + bond_order(zeta, params) * attractive)
    return 0.5 * jnp.sum(jnp.where(keep, pair, 0.0))  # every pair is listed as (i, j) and (j, i)
