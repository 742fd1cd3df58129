"""The paper's fits assembled from reference data: objectives, multi-start runs, property rows.

An *objective* is one of ``elastic_standard``, ``elastic_paper``, ``phonon`` (force constants),
``crystal`` (the scalar targets of :mod:`ffdiff.fitting.crystal`: lattice constant, cohesive energy,
bulk modulus, phase energy differences) or ``multi`` (weighted elastic + force constants, + the
scalar targets where their weight is not 0).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ffdiff.data.phonopy import load_phonopy
from ffdiff.fitting.crystal import CrystalTarget, crystal_targets
from ffdiff.fitting.bands import BAND_PERCENTILES, laplace_samples, sampled_band
from ffdiff.fitting.objectives import (
    Loss,
    at_own_lattice,
    init_crystal_loss,
    init_elastic_loss,
    init_force_constant_loss,
    init_weighted_loss,
    regularized,
)
from ffdiff.fitting.optimize import FitResult, Objective, compile_objective, evaluate_at, loss_grid, run_minimize
from ffdiff.fitting.geometry import GEOMETRIES, Geometry, check_range, skin_for
from ffdiff.fitting.parameters import ParameterSpace
from ffdiff.potentials import get_potential
from ffdiff.properties.phonons import (
    band_structure,
    density_of_states,
    distribute_rows,
    frequencies_at,
    thermal_properties,
    with_force_constants,
)
from ffdiff.fitting.records import best_run
from ffdiff.typing import Params

logger = logging.getLogger(__name__)

OBJECTIVES = ("elastic_standard", "elastic_paper", "phonon", "crystal", "multi")


@dataclasses.dataclass(frozen=True)
class Reference:
    """Targets of the fits.

    Attributes:
        elastic: `[6, 6]` DFT stiffness in GPa (standard convention; None if no elastic fit).
        phonon: ``phonopy.Phonopy`` with DFT force constants (None if no force-constant fit).
        crystal: scalar targets of the zero-pressure crystal (empty if none).
    """

    elastic: np.ndarray | None
    phonon: object | None = None
    crystal: tuple[CrystalTarget, ...] = ()


def build_loss(objective: str, geometry: Geometry, reference: Reference, params: Params,
               weights: Mapping[str, float] | None = None) -> Loss:
    """``loss(params)`` of one objective (see module docstring). ``weights`` (of ``multi``):
    ``{"elastic", "force_constants"}`` and optionally ``"crystal"`` (a part only where not 0)."""
    if objective.startswith("elastic_"):
        return elastic_loss(geometry, reference, params, objective.removeprefix("elastic_"))
    if objective == "phonon":
        return force_constant_loss(geometry, reference, params)
    if objective == "crystal":
        return crystal_loss(geometry, reference)
    if objective == "multi":
        weights = dict(weights or {})
        parts = {"elastic": elastic_loss(geometry, reference, params),
                 "force_constants": force_constant_loss(geometry, reference, params)}
        if weights.get("crystal", 0.0):
            parts["crystal"] = crystal_loss(geometry, reference)
        # the parts' weights; a missing one is left for init_weighted_loss to name
        return init_weighted_loss(parts, {k: weights[k] for k in parts if k in weights})
    raise ValueError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")


def elastic_loss(geometry: Geometry, reference: Reference, params: Params, convention: str = "standard") -> Loss:
    """‖C − C_ref‖_F (GPa) of the 8-atom crystal in ``convention`` (``"standard"`` or ``"paper"``)."""
    loss = init_elastic_loss(geometry.potential.energy, *geometry.crystal(params), reference.elastic,
                             convention=convention)
    return at_own_lattice(geometry.potential, loss) if geometry.relaxed else loss


def force_constant_loss(geometry: Geometry, reference: Reference, params: Params, scale: float = 1.0) -> Loss:
    """‖Φ − Φ_ref‖_F (eV/Å²) of phonopy's supercell stretched by ``scale`` against the DFT force constants
    (relaxed geometry: at a0(params), ``scale`` unused)."""
    loss = init_force_constant_loss(geometry.potential.energy, *geometry.supercell(params, scale),
                                    reference.phonon.force_constants, orbits=symmetry_orbits(reference.phonon))
    return at_own_lattice(geometry.potential, loss) if geometry.relaxed else loss


def crystal_loss(geometry: Geometry, reference: Reference) -> Loss:
    """‖(q − q_ref) / σ‖ over ``reference.crystal`` (dimensionless), at the potential's own zero-pressure
    crystals whatever ``geometry`` says."""
    return init_crystal_loss(geometry.potential, reference.crystal)


def symmetry_orbits(phonon, rtol: float = 1e-8) -> tuple[np.ndarray, np.ndarray] | None:
    """(symmetry-independent atoms of phonopy's supercell, their orbit sizes), or None (the full
    force-constant loss is used then) if the reference force constants do not share that symmetry:
    every atom's row of Φ_ref must have its independent atom's Frobenius norm."""
    mapping = np.asarray(phonon.symmetry.get_map_atoms())
    atoms, counts = np.unique(mapping, return_counts=True)
    norms = np.sqrt(np.sum(np.asarray(phonon.force_constants) ** 2, axis=(1, 2, 3)))
    if not np.allclose(norms, norms[mapping], rtol=rtol, atol=0.0):
        logger.info("reference force constants lack the supercell's symmetry (row norms differ by up to %.1e): "
                    "fitting the full matrix", float(np.max(np.abs(norms - norms[mapping]))))
        return None
    return atoms, counts


# The property row's name of each part's loss over the full matrix.
_ROW_KEYS = {"elastic": "elastic_loss", "force_constants": "fc_loss", "crystal": "crystal_loss"}


def _check_loss(objective: str, value: float, row: dict, loss: Loss) -> None:
    """The fitted loss at the starting parameters must equal the full-matrix one of ``property_row``."""
    if objective in ("phonon", "crystal"):
        full = row[_ROW_KEYS["force_constants" if objective == "phonon" else "crystal"]]
    elif loss.parts:
        full = loss.total({part: row[_ROW_KEYS[part]] for part in loss.weights})
    else:
        return
    if not np.isclose(value, full, rtol=1e-7, atol=1e-9):
        raise RuntimeError(f"{objective} loss {value!r} from the symmetry-independent force-constant rows differs "
                           f"from {full!r} over the full matrix")


def run_fits(objective: Objective, space: ParameterSpace, optimizers: Sequence[str], starts: np.ndarray,
             maxiter: int) -> list[tuple[int, FitResult]]:
    """Every optimizer from every start; returns [(start index, result), ...]."""
    return [(k, run_minimize(objective, space, start, method, maxiter=maxiter))
            for k, start in enumerate(starts) for method in optimizers]


@dataclasses.dataclass(frozen=True)
class Properties:
    """What :func:`property_row` evaluates parameter sets with: the elastic loss (standard convention)
    and, with a phonon reference, the force-constant loss of the starting parameters' structures,
    whose aux are the reported properties. Their compiled programs are those of the elastic, phonon
    and multi fits, so reporting compiles nothing of its own.

    The structures' lists serve every parameter set a fit reaches (see :func:`check_range`).
    """

    reference: Reference
    space: ParameterSpace
    elastic: Loss | None
    force_constants: Loss | None
    orbits: tuple[np.ndarray, np.ndarray] | None
    crystal: Loss | None = None

    def full_force_constants(self, params: Params) -> np.ndarray:
        """`[n, n, 3, 3]` force constants of phonopy's supercell (eV/Å²): the loss's rows of the
        symmetry-independent atoms, distributed by the supercell's symmetry, or its full matrix."""
        _, fc = evaluate_at(self.force_constants, self.space, params)
        return fc if self.orbits is None else distribute_rows(self.reference.phonon, self.orbits[0], fc)


def properties(geometry: Geometry, reference: Reference, space: ParameterSpace) -> Properties:
    """:class:`Properties` of a fit of ``space`` (its starting parameters set the structures' lists)
    against the targets ``reference`` has."""
    phonon = reference.phonon is not None
    elastic = reference.elastic is not None
    return Properties(reference, space, elastic_loss(geometry, reference, space.base) if elastic else None,
                      force_constant_loss(geometry, reference, space.base) if phonon else None,
                      symmetry_orbits(reference.phonon) if phonon else None,
                      crystal_loss(geometry, reference) if reference.crystal else None)


def property_row(props: Properties, params: Params) -> dict:
    """C11, C12, C44 (relaxed) and C44_0 (unrelaxed) in GPa, standard convention; the elastic and
    force-constant losses (full matrix); phonon frequencies (THz); relaxed geometry, a0 (Å); and with
    scalar targets each one's value (named as :attr:`CrystalTarget.name`) and their loss ``crystal_loss``."""
    _, moduli = evaluate_at(props.elastic, props.space, params)
    c, reference = moduli["relaxed"], props.reference
    row = {"C11": c[0, 0], "C12": c[0, 1], "C44": c[3, 3], "C44_0": moduli["born"][3, 3],
           "elastic_loss": np.linalg.norm(c - reference.elastic)}  # Frobenius, on the host
    if "lattice_constant" in moduli:  # relaxed geometry
        row["a0"] = moduli["lattice_constant"]
    if props.force_constants is not None:
        fc = props.full_force_constants(params)
        row["fc_loss"] = np.linalg.norm(fc - reference.phonon.force_constants)
        for point, freqs in frequencies_at(with_force_constants(reference.phonon, fc, symmetry=False)).items():
            row[f"nu_max_{point}"] = max(freqs)  # THz; at Γ the optical mode
    if props.crystal is not None:
        value, aux = evaluate_at(props.crystal, props.space, params)
        row.update(zip((t.name for t in reference.crystal), np.asarray(aux["values"]), strict=True))
        row["crystal_loss"] = value
    return {k: float(v) for k, v in row.items()}


def reference_row(reference: Reference) -> dict:
    """The DFT reference as a property row."""
    c = reference.elastic
    row = {"C11": c[0, 0], "C12": c[0, 1], "C44": c[3, 3]}
    if reference.phonon is not None:
        for point, freqs in frequencies_at(reference.phonon).items():
            row[f"nu_max_{point}"] = max(freqs)
    row.update({t.name: t.value for t in reference.crystal})
    return {k: float(v) for k, v in row.items()}


def fit_potential(name: str, objective: str, reference: Reference, *, lattice_constant: float,
                  fitted: str | Sequence[str], optimizers: Sequence[str] = ("BFGS",), n_starts: int = 1,
                  seed: int = 0, spread: float = 0.2, maxiter: int = 200,
                  overrides: Mapping[str, float] | None = None, weights: Mapping[str, float] | None = None,
                  regularization: float = 0.0, geometry: str = "fixed") -> dict:
    """One potential fitted to one objective from every start with every optimizer.

    Args:
        name: ``"sw"`` or ``"edip"``.
        objective: one of :data:`OBJECTIVES` (see the module docstring).
        reference: the targets; the objective's must be there.
        lattice_constant: of the diamond crystal the elastic constants are computed for, in Å.
        fitted: names of the fitted parameters, or ``"all"`` (every one but those fixed by convention,
            :meth:`ffdiff.potentials.Potential.fitted_names`); the others keep their values. Each
            stays inside its legal range (the potential's ``bounds``).
        optimizers: scipy methods of :data:`ffdiff.fitting.optimize.METHODS`, each run from every start.
        n_starts: the original parameters, then ``n_starts - 1`` random starts within ``±spread``
            (relative) drawn from ``seed``.
        maxiter: iterations per run.
        overrides: parameter values replacing the originals (fitted or not).
        weights: ``{"elastic": w, "force_constants": w}`` of the ``multi`` objective, and ``"crystal": w``
            for ``reference.crystal`` (dimensionless loss; 0 or absent: not a part).
        regularization: strength of :func:`ffdiff.fitting.objectives.init_regularization` added to
            the loss (0: none), in the loss's units.
        geometry: ``"fixed"``: the elastic constants at ``lattice_constant`` and the force constants at
            the DFT supercell's geometry (the paper's); ``"relaxed"``: both at the potential's own
            zero-pressure lattice constant a0(θ), differentiated through it (a fit of σ, a or B then
            changes the moduli, not a pre-stress); the property rows then also give ``a0`` (Å).

    Returns:
        ``{"original": {...}, "runs": [...], "best": {...}, "reference": {...}}``: parameters and
        property rows of the original set, of every run (with its iteration history) and of the
        lowest-loss run; the fit's ``label`` in tables (the objective, marked for ``"all"``), whether it
        fitted ``all_parameters``; and, for ``multi``, its ``weights``.
    """
    geometry_name = geometry
    geometry, space = fit_setup(name, fitted, reference.phonon, lattice_constant, overrides, geometry_name)
    params0 = space.base
    loss = build_loss(objective, geometry, reference, params0, weights)
    compiled = compile_objective(regularized(loss, {k: params0[k] for k in space.names}, regularization), space)
    original_loss = float(compiled.value(space.pack(params0)))  # the regularisation is 0 there
    logger.info("%s, %s: loss %.6g at the starting parameters", name, objective, original_loss)
    props = properties(geometry, reference, space)
    original_row = property_row(props, params0)
    _check_loss(objective, original_loss, original_row, loss)  # before minutes of fitting the wrong loss
    runs = []
    for start, result in run_fits(compiled, space, optimizers, space.starts(n_starts, seed, spread), maxiter):
        params = space.unpack(jnp.asarray(result.x))
        check_range(geometry, params0, params)
        runs.append({"start": start, **result.to_dict(), "properties": property_row(props, params)})
    best = min(runs, key=lambda r: r["loss"])
    return {
        "potential": name, "objective": objective, "fitted": list(space.names),
        "label": fit_label(objective, fitted), "all_parameters": fitted == "all", "regularization": float(regularization),
        "geometry": geometry_name,
        **({"weights": loss.weights} if objective == "multi" else {}),
        "original": {"params": {k: float(v) for k, v in params0.items()}, "loss": original_loss,
                     "properties": original_row},
        "runs": runs,
        "best": {"params": {k: float(v) for k, v in space.unpack(jnp.asarray(best["x"])).items()},
                 "method": best["method"], "start": best["start"], "loss": best["loss"]},
        "reference": reference_row(reference),
    }


def fit_label(objective: str, fitted: str | Sequence[str]) -> str:
    """How tables name a fit: its objective, with ``" (all parameters)"`` for a ``fitted="all"`` fit
    (which the study runs beside the configured subset's)."""
    return f"{objective} (all parameters)" if fitted == "all" else objective


def fit_setup(name: str, fitted: str | Sequence[str], phonon, lattice_constant: float, overrides,
              geometry: str = "fixed"):
    """The structures and fitted-parameter space (within the potential's bounds) of one potential's fit;
    ``geometry`` one of :data:`GEOMETRIES` (a fit record's ``"geometry"``, fixed when absent)."""
    if geometry not in GEOMETRIES:
        raise ValueError(f"unknown geometry {geometry!r}; expected one of {GEOMETRIES}")
    potential = get_potential(name)
    names = potential.fitted_names(fitted)
    relaxed = geometry == "relaxed"
    geometry = Geometry(potential, lattice_constant, phonon, skin_for(potential, names, relaxed), relaxed)
    return geometry, ParameterSpace(names, potential.params(overrides), potential.bounds)


def landscape_grid(fits: dict, reference: Reference, *, lattice_constant: float, points: int, margin: float,
                   overrides: Mapping[str, float] | None = None,
                   weights: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Loss on a ``points`` × ``points`` grid spanning every optimizer path, widened by ``margin``
    (a fraction of the span on each side). Returns ``{"axis0", "axis1", "loss"}``."""
    geometry, space = fit_setup(fits["potential"], fits["fitted"], reference.phonon, lattice_constant, overrides,
                             fits.get("geometry", "fixed"))
    loss_fn = build_loss(fits["objective"], geometry, reference, space.base, weights)
    visited = np.array([[h[n] for n in space.names] for r in fits["runs"] for h in r["history"]])
    lo, hi = visited.min(axis=0), visited.max(axis=0)
    pad = margin * np.maximum(hi - lo, 0.05 * np.abs(hi))
    axes = [np.linspace(lo[k] - pad[k], hi[k] + pad[k], points) for k in range(2)]
    return {"axis0": axes[0], "axis1": axes[1], "loss": loss_grid(loss_fn, space, *axes)}


def phonon_properties(fits: dict, phonon, *, lattice_constant: float, overrides=None, laplace: Mapping | None = None,
                      band_samples: int = 32, seed: int = 0) -> dict:
    """Dispersion, DOS, thermal properties and high-symmetry frequencies of the original
    parameters, the best fit and DFT, keyed by those labels.

    Given the fit's Laplace posterior (``laplace``: a :meth:`ffdiff.fitting.uncertainty.Laplace.to_dict`
    with ``names``, ``theta`` and ``covariance``), the fitted entry also has ``"band"``: the 16th and
    84th percentiles (``"lower"``, ``"upper"``, THz, in the layout of ``"bands"["frequencies"]``) of
    the dispersions of ``band_samples`` parameter sets drawn from it with ``seed``
    (:mod:`ffdiff.fitting.bands`), and how they were drawn.
    """
    geometry, space = fit_setup(fits["potential"], fits["fitted"], phonon, lattice_constant, overrides,
                             fits.get("geometry", "fixed"))
    props = properties(geometry, Reference(None, phonon), space)
    sets = {"original": space.base, "fitted": space.unpack(jnp.asarray(best_run(fits)["x"]))}
    phonons = {label: with_force_constants(phonon, props.full_force_constants(p)) for label, p in sets.items()}
    phonons["DFT"] = phonon
    result = {label: {"bands": band_structure(ph), "dos": density_of_states(ph),
                      "thermal": thermal_properties(ph), "frequencies": frequencies_at(ph)}
              for label, ph in phonons.items()}
    if laplace is not None:
        result["fitted"]["band"] = posterior_band(props, geometry, best_run(fits)["x"], laplace,
                                                  n_samples=band_samples, seed=seed)
    return result


def posterior_band(props: Properties, geometry: Geometry, theta, laplace: Mapping, *, n_samples: int,
                   seed: int) -> dict:
    """The 68 % band of the dispersion of a fit at ``theta`` (`[p]`, ``props.space``'s order) under
    its Laplace posterior ``laplace`` (see :func:`phonon_properties`); every sample's force
    constants come from the one compiled program of ``props``."""
    space = props.space
    if tuple(laplace["names"]) != space.names or not np.allclose(laplace["theta"], theta, rtol=1e-12, atol=0.0):
        raise ValueError(f"the posterior is of {laplace['names']} at {laplace['theta']}; expected {list(space.names)} "
                         f"at the fit's optimum {list(theta)}")
    samples = laplace_samples(theta, laplace["covariance"], n_samples, seed, lower=space.interval[0],
                              upper=space.interval[1])

    def force_constants(t):
        params = space.unpack(t)
        check_range(geometry, space.base, params)
        return props.full_force_constants(params)

    lower, upper = BAND_PERCENTILES
    return {**sampled_band(force_constants, props.reference.phonon, samples), "percentiles": [lower, upper],
            "samples": n_samples, "seed": seed}


def load_reference(elastic_json, phonopy_params=None, targets: Mapping | None = None) -> Reference:
    """Reference from the reference stage's files (``elastic.json``, optional ``phonopy_params.yaml``)
    and the scalar targets of the config's ``fits.targets`` block (:func:`ffdiff.fitting.crystal.crystal_targets`)."""
    doc = json.loads(Path(elastic_json).read_text())
    phonon = load_phonopy(phonopy_params) if phonopy_params else None
    return Reference(np.asarray(doc["matrix_gpa"], dtype=float), phonon, crystal_targets(targets))
