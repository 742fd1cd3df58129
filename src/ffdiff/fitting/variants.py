"""Readings of the paper's multi-objective loss, each fitted and set beside the paper's optimum.

Gangan et al. (§3.5) minimise w_e·L_elastic + w_f·L_fc with w_e = w_f = 1 and print the optimum in
Table 7, but leave three choices open (each a field of :class:`Variant`):

- ``convention``: the elastic matrices in the paper's convention (shear block doubled, as in its Tables
  3–4, which the study reproduces with the ``elastic_paper`` objective) or the standard one;
- ``fc_geometry``: the force constants of phonopy's DFT supercell as given (``"dft"``) or of that
  supercell stretched uniformly to the potential's own zero-pressure lattice constant a0(θ) (``"own"``);
- ``norm``: plain Frobenius norms ‖·‖_F (``"frobenius"``) or squared ones ‖·‖_F² (``"squared"``).

The elastic constants are always those of the crystal at the configured lattice constant, as in every
other fit of the study. :func:`variant_rows` fits every variant of every potential that Table 7 covers.

References:
    A. S. Gangan et al., J. Chem. Theory Comput. 21, 5867 (2025), doi:10.1021/acs.jctc.4c01296.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Mapping, Sequence

import jax.numpy as jnp
import numpy as np

from ffdiff.fitting.objectives import Loss, init_weighted_loss, squared
from ffdiff.fitting.optimize import compile_objective, run_minimize
from ffdiff.fitting.geometry import Geometry, check_range, dft_lattice_constant
from ffdiff.fitting.potential_fit import Reference, elastic_loss, fit_setup, force_constant_loss
from ffdiff.properties.equilibrium import equilibrium_lattice_constant
from ffdiff.typing import Params

logger = logging.getLogger(__name__)

CONVENTIONS = ("paper", "standard")
FC_GEOMETRIES = ("dft", "own")
NORMS = ("frobenius", "squared")
WEIGHTS = {"elastic": 1.0, "force_constants": 1.0}  # §3.5: both weights 1
MATCH_RTOL = 1e-4  # a variant reproduces Table 7 if every parameter is within this relative distance
A0_RTOL = 1e-9  # the 'own' supercell is built at the start's a0, which the fitted parameters must keep


@dataclasses.dataclass(frozen=True)
class Variant:
    """One reading of the multi-objective loss (see the module docstring)."""

    convention: str
    fc_geometry: str
    norm: str

    def __post_init__(self):
        for what, value, allowed in (("convention", self.convention, CONVENTIONS),
                                     ("fc_geometry", self.fc_geometry, FC_GEOMETRIES),
                                     ("norm", self.norm, NORMS)):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}")


VARIANTS = tuple(Variant(*choice) for choice in itertools.product(CONVENTIONS, FC_GEOMETRIES, NORMS))


def own_lattice_constant(geometry: Geometry, params: Params) -> float:
    """The potential's zero-pressure diamond lattice constant a0 (Å) at ``params``."""
    return float(equilibrium_lattice_constant(geometry.potential, params))


def fc_scale(variant: Variant, geometry: Geometry, params: Params) -> float:
    """Stretch of phonopy's supercell for ``variant``'s force constants: 1 (``"dft"``) or a0(params) / a_dft
    (``"own"``)."""
    if variant.fc_geometry == "dft":
        return 1.0
    return own_lattice_constant(geometry, params) / dft_lattice_constant(geometry.phonon)


def variant_loss(variant: Variant, geometry: Geometry, reference: Reference, params: Params,
                 weights: Mapping[str, float] | None = None, scale: float | None = None) -> Loss:
    """w_e·L_elastic + w_f·L_fc of ``variant`` (parts ``"elastic"`` in GPa, ``"force_constants"`` in
    eV/Å², their squares for ``norm="squared"``); the structures' lists are built for ``params``.

    Args:
        weights: ``{"elastic": w_e, "force_constants": w_f}``; default both 1 (§3.5).
        scale: stretch of phonopy's supercell; default :func:`fc_scale` at ``params``.
    """
    scale = fc_scale(variant, geometry, params) if scale is None else scale
    loss = init_weighted_loss({"elastic": elastic_loss(geometry, reference, params, variant.convention),
                               "force_constants": force_constant_loss(geometry, reference, params, scale)},
                              dict(weights or WEIGHTS))
    return squared(loss) if variant.norm == "squared" else loss


def fit_variant(name: str, variant: Variant, reference: Reference, *, lattice_constant: float,
                fitted: Sequence[str], table7: Mapping[str, float] | None = None,
                methods: Sequence[str] = ("BFGS", "CG"), maxiter: int = 200, gtol: float = 1e-7,
                weights: Mapping[str, float] | None = None, overrides: Mapping[str, float] | None = None,
                rtol: float = MATCH_RTOL) -> list[dict]:
    """``variant`` fitted from the starting parameters with each of ``methods``; one row per method.

    Args:
        name: the potential.
        lattice_constant: of the crystal whose elastic constants are fitted (Å).
        fitted: fitted parameter names.
        table7: the paper's optimum of ``fitted`` (None: no comparison, empty verdict).
        gtol: scipy's gradient tolerance, in the optimizer's Hessian-whitened coordinates.
        rtol: largest relative distance of every parameter to Table 7's for a match.

    Returns:
        Rows: the variant, ``method``, each fitted parameter, ``loss``, ``converged``, ``n_iter``,
        ``grad_norm`` (‖∂loss/∂θ‖ at the result), C11,
        C12, C44 (relaxed, standard convention) and ``C44_paper`` (2·C44) in GPa, ``fc_lattice_constant``
        (Å, of the force constants' supercell), and against Table 7: ``loss_at_table7``, ``d_<name>``
        (θ / θ_Table7 − 1), ``table7_distance`` (max |Δθ/θ|) and ``matches_table7`` (≤ ``rtol``).
    """
    geometry, space = fit_setup(name, list(fitted), reference.phonon, lattice_constant, overrides)
    params0 = space.base
    scale = fc_scale(variant, geometry, params0)
    objective = compile_objective(variant_loss(variant, geometry, reference, params0, weights, scale), space)
    paper = None if table7 is None else np.array([table7[k] for k in space.names], dtype=np.float64)
    rows = []
    for method in methods:
        result = run_minimize(objective, space, space.pack(params0), method, maxiter=maxiter,
                              options={"gtol": gtol})
        params = space.unpack(jnp.asarray(result.x))
        check_range(geometry, params0, params)
        _check_geometry(variant, geometry, params0, params)
        c = np.asarray(objective.evaluate(np.asarray(result.x))[1]["elastic"]["relaxed"])
        row = {"potential": name, **dataclasses.asdict(variant), "method": method,
               **dict(zip(space.names, result.x, strict=True)), "loss": result.loss,
               "converged": result.converged, "n_iter": result.n_iter, "grad_norm": result.history[-1]["grad_norm"],
               "C11": c[0, 0], "C12": c[0, 1], "C44": c[3, 3], "C44_paper": 2.0 * c[3, 3],
               "fc_lattice_constant": scale * dft_lattice_constant(reference.phonon)}
        rows.append(row | _against_table7(objective, space.names, np.asarray(result.x), paper, rtol))
    return rows


def _check_geometry(variant: Variant, geometry: Geometry, start: Params, params: Params) -> None:
    """The 'own' supercell is stretched to the start's a0; a fit that moves a0 would need it rebuilt."""
    if variant.fc_geometry != "own":
        return
    a_start, a_fit = own_lattice_constant(geometry, start), own_lattice_constant(geometry, params)
    if abs(a_fit - a_start) > A0_RTOL * a_start:
        raise RuntimeError(f"{geometry.potential.name}: the fitted parameters move a0 from {a_start:.10f} to "
                           f"{a_fit:.10f} Å, but the force constants' supercell was built at the former; "
                           "the 'own' geometry needs fitted parameters that leave a0 unchanged")


def _against_table7(objective, names: tuple[str, ...], theta: np.ndarray, paper: np.ndarray | None,
                    rtol: float) -> dict:
    if paper is None:
        return {"loss_at_table7": np.nan, **{f"d_{k}": np.nan for k in names}, "table7_distance": np.nan,
                "matches_table7": None}
    relative = theta / paper - 1.0
    distance = float(np.max(np.abs(relative)))
    return {"loss_at_table7": objective.value(paper), **dict(zip((f"d_{k}" for k in names), relative, strict=True)),
            "table7_distance": distance, "matches_table7": distance <= rtol}


def variant_rows(potentials: Mapping[str, Mapping], reference: Reference, table7: Mapping[str, Mapping[str, float]],
                 *, variants: Sequence[Variant] = VARIANTS, **options) -> list[dict]:
    """Every variant of every potential that Table 7 covers (:func:`fit_variant` rows).

    Args:
        potentials: ``{name: {"fitted": [...], "lattice_constant": Å, "overrides": {...}}}``.
        table7: ``{name: {parameter: value}}``, the paper's optimum. A potential without an entry, or
            whose fitted parameters are not the entry's, is skipped (logged).
        options: passed to :func:`fit_variant` (methods, maxiter, gtol, weights, rtol).
    """
    rows = []
    for name, settings in potentials.items():
        paper = table7.get(name)
        if paper is None:
            logger.info("%s skipped: Table 7 gives no optimum for it", name)
            continue
        if sorted(settings["fitted"]) != sorted(paper):
            logger.info("%s skipped: fitted %s, but Table 7 reports %s", name, list(settings["fitted"]), sorted(paper))
            continue
        for variant in variants:
            rows += fit_variant(name, variant, reference, lattice_constant=settings["lattice_constant"],
                                fitted=settings["fitted"], table7=paper, overrides=settings.get("overrides"),
                                **options)
    return rows
