"""The paper's fits assembled from reference data: objectives, multi-start runs, property rows.

An *objective* is one of ``elastic_standard``, ``elastic_paper``, ``phonon`` (force constants) or
``multi`` (weighted elastic + force constants).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from ase.build import bulk

from ffdiff.data.phonopy import load_phonopy
from ffdiff.fitting.objectives import (
    frobenius,
    init_elastic_loss,
    init_force_constant_loss,
    init_weighted_loss,
)
from ffdiff.fitting.optimize import FitResult, Objective, compile_objective, loss_grid, run_minimize
from ffdiff.fitting.parameters import ParameterSpace
from ffdiff.neighbors import neighbor_list
from ffdiff.potentials import Potential, get_potential
from ffdiff.properties.elastic import elastic_constants
from ffdiff.properties.phonons import (
    band_structure,
    density_of_states,
    force_constants,
    frequencies_at,
    thermal_properties,
    with_force_constants,
)
from ffdiff.results import best_run
from ffdiff.typing import Params

logger = logging.getLogger(__name__)

OBJECTIVES = ("elastic_standard", "elastic_paper", "phonon", "multi")
CUTOFF_SKIN = 0.5  # Å: list head room when a fit moves the cutoff (checked after every fit)


@dataclasses.dataclass(frozen=True)
class Reference:
    """Targets of the fits.

    Attributes:
        elastic: `[6, 6]` DFT stiffness in GPa (standard convention).
        phonon: ``phonopy.Phonopy`` with DFT force constants (None if no force-constant fit).
    """

    elastic: np.ndarray
    phonon: object | None = None


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Structures a potential is evaluated on: 8-atom cell at ``a`` and phonopy's supercell.

    Neighbour lists are built for the starting parameters with ``skin`` of head room: zero unless
    the fit moves the cutoff, which keeps the triplet lists (and Hessians) ~20× smaller.
    """

    potential: Potential
    lattice_constant: float
    phonon: object | None
    skin: float = 0.0

    def crystal(self, params: Params):
        atoms = bulk("Si", "diamond", a=self.lattice_constant, cubic=True)
        nbrs = neighbor_list(atoms.positions, atoms.cell.array, self.potential.cutoff(params), skin=self.skin)
        return jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array), nbrs

    def supercell(self, params: Params):
        cell = self.phonon.supercell
        position, box = np.asarray(cell.positions), np.asarray(cell.cell)
        nbrs = neighbor_list(position, box, self.potential.cutoff(params), skin=self.skin)
        return jnp.asarray(position), jnp.asarray(box), nbrs


def _skin_for(potential: Potential, fitted: Sequence[str]) -> float:
    return CUTOFF_SKIN if set(fitted) & potential.cutoff_params else 0.0


def _check_range(potential: Potential, start: Params, params: Params, skin: float) -> None:
    """A fit that moved the cutoff beyond the lists' head room evaluated a truncated potential."""
    if potential.cutoff(params) > potential.cutoff(start) + skin:
        raise RuntimeError(
            f"{potential.name} cutoff grew from {potential.cutoff(start):.4f} to {potential.cutoff(params):.4f} Å "
            f"during the fit, beyond the neighbour-list skin of {skin} Å; constrain the fitted parameters"
        )


@functools.cache
def _elastic_fn(potential: Potential):
    return jax.jit(lambda p, x, b, n: elastic_constants(potential.energy, p, x, b, n))


@functools.cache
def _force_constants_fn(potential: Potential):
    return jax.jit(lambda p, x, b, n: force_constants(potential.energy, p, x, b, n))


def build_loss(objective: str, geometry: Geometry, reference: Reference, params: Params,
               weights: Mapping[str, float] | None = None):
    """``loss(params)`` of one objective (see module docstring)."""
    energy = geometry.potential.energy
    if objective.startswith("elastic_"):
        return init_elastic_loss(energy, *geometry.crystal(params), reference.elastic,
                                 convention=objective.removeprefix("elastic_"))
    fc_loss = init_force_constant_loss(energy, *geometry.supercell(params), reference.phonon.force_constants,
                                       orbits=symmetry_orbits(reference.phonon))
    if objective == "phonon":
        return fc_loss
    if objective == "multi":
        el_loss = init_elastic_loss(energy, *geometry.crystal(params), reference.elastic)
        return init_weighted_loss({"elastic": el_loss, "force_constants": fc_loss}, dict(weights or {}))
    raise ValueError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")


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


def _check_loss(objective: str, loss: float, row: dict, weights: Mapping[str, float] | None) -> None:
    """The fitted loss at the starting parameters must equal the full-matrix one of ``property_row``."""
    if objective == "phonon":
        full = row["fc_loss"]
    elif objective == "multi":
        full = weights["elastic"] * row["elastic_loss"] + weights["force_constants"] * row["fc_loss"]
    else:
        return
    if not np.isclose(loss, full, rtol=1e-7, atol=1e-9):
        raise RuntimeError(f"{objective} loss {loss!r} from the symmetry-independent force-constant rows differs "
                           f"from {full!r} over the full matrix")


def run_fits(objective: Objective, space: ParameterSpace, optimizers: Sequence[str], starts: np.ndarray,
             maxiter: int) -> list[tuple[int, FitResult]]:
    """Every optimizer from every start; returns [(start index, result), ...]."""
    return [(k, run_minimize(objective, space, start, method, maxiter=maxiter))
            for k, start in enumerate(starts) for method in optimizers]


def property_row(geometry: Geometry, reference: Reference, params: Params) -> dict:
    """C11, C12, C44 (relaxed) and C44_0 (unrelaxed) in GPa, standard convention; the elastic and
    force-constant losses; and phonon frequencies (THz)."""
    moduli = _elastic_fn(geometry.potential)(params, *geometry.crystal(params))
    c = moduli["relaxed"]
    row = {"C11": c[0, 0], "C12": c[0, 1], "C44": c[3, 3], "C44_0": moduli["born"][3, 3],
           "elastic_loss": frobenius(c, reference.elastic)}
    if reference.phonon is not None:
        fc = _force_constants_fn(geometry.potential)(params, *geometry.supercell(params))
        row["fc_loss"] = frobenius(fc, reference.phonon.force_constants)
        for point, freqs in frequencies_at(with_force_constants(reference.phonon, fc)).items():
            row[f"nu_max_{point}"] = max(freqs)  # THz; at Γ the optical mode
    return {k: float(v) for k, v in row.items()}


def reference_row(reference: Reference) -> dict:
    """The DFT reference as a property row."""
    c = reference.elastic
    row = {"C11": c[0, 0], "C12": c[0, 1], "C44": c[3, 3]}
    if reference.phonon is not None:
        for point, freqs in frequencies_at(reference.phonon).items():
            row[f"nu_max_{point}"] = max(freqs)
    return {k: float(v) for k, v in row.items()}


def fit_potential(name: str, objective: str, reference: Reference, *, lattice_constant: float,
                  fitted: Sequence[str], optimizers: Sequence[str], n_starts: int, seed: int,
                  spread: float, maxiter: int, overrides: Mapping[str, float] | None = None,
                  weights: Mapping[str, float] | None = None) -> dict:
    """One potential fitted to one objective from every start with every optimizer.

    Returns:
        ``{"original": {...}, "runs": [...], "best": {...}, "reference": {...}}``: parameters and
        property rows of the original set, of every run (with its iteration history) and of the
        lowest-loss run.
    """
    geometry, space = _setup(name, fitted, reference.phonon, lattice_constant, overrides)
    potential, params0 = geometry.potential, space.base
    compiled = compile_objective(build_loss(objective, geometry, reference, params0, weights), space)
    original_loss = float(compiled.value(space.pack(params0)))
    logger.info("%s, %s: loss %.6g at the starting parameters", name, objective, original_loss)
    original_row = property_row(geometry, reference, params0)
    _check_loss(objective, original_loss, original_row, weights)  # before minutes of fitting the wrong loss
    runs = []
    for start, result in run_fits(compiled, space, optimizers, space.starts(n_starts, seed, spread), maxiter):
        params = space.unpack(jnp.asarray(result.x))
        _check_range(potential, params0, params, geometry.skin)
        runs.append({"start": start, **result.to_dict(), "properties": property_row(geometry, reference, params)})
    best = min(runs, key=lambda r: r["loss"])
    return {
        "potential": name, "objective": objective, "fitted": list(fitted),
        "original": {"params": {k: float(v) for k, v in params0.items()}, "loss": original_loss,
                     "properties": original_row},
        "runs": runs,
        "best": {"params": {k: float(v) for k, v in space.unpack(jnp.asarray(best["x"])).items()},
                 "method": best["method"], "start": best["start"], "loss": best["loss"]},
        "reference": reference_row(reference),
    }


def _setup(name: str, fitted: Sequence[str], phonon, lattice_constant: float, overrides):
    """The structures and fitted-parameter space of one potential's fit."""
    potential = get_potential(name)
    geometry = Geometry(potential, lattice_constant, phonon, _skin_for(potential, fitted))
    return geometry, ParameterSpace(tuple(fitted), potential.params(overrides))


def landscape_grid(fits: dict, reference: Reference, *, lattice_constant: float, points: int, margin: float,
                   overrides: Mapping[str, float] | None = None,
                   weights: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Loss on a ``points`` × ``points`` grid spanning every optimizer path, widened by ``margin``
    (a fraction of the span on each side). Returns ``{"axis0", "axis1", "loss"}``."""
    geometry, space = _setup(fits["potential"], fits["fitted"], reference.phonon, lattice_constant, overrides)
    loss_fn = build_loss(fits["objective"], geometry, reference, space.base, weights)
    visited = np.array([[h[n] for n in space.names] for r in fits["runs"] for h in r["history"]])
    lo, hi = visited.min(axis=0), visited.max(axis=0)
    pad = margin * np.maximum(hi - lo, 0.05 * np.abs(hi))
    axes = [np.linspace(lo[k] - pad[k], hi[k] + pad[k], points) for k in range(2)]
    return {"axis0": axes[0], "axis1": axes[1], "loss": loss_grid(loss_fn, space, *axes)}


def phonon_properties(fits: dict, phonon, *, lattice_constant: float, overrides=None) -> dict:
    """Dispersion, DOS, thermal properties and high-symmetry frequencies of the original
    parameters, the best fit and DFT, keyed by those labels."""
    geometry, space = _setup(fits["potential"], fits["fitted"], phonon, lattice_constant, overrides)
    sets = {"original": space.base, "fitted": space.unpack(jnp.asarray(best_run(fits)["x"]))}
    fc_fn = _force_constants_fn(geometry.potential)
    phonons = {label: with_force_constants(phonon, fc_fn(p, *geometry.supercell(p))) for label, p in sets.items()}
    phonons["DFT"] = phonon
    return {label: {"bands": band_structure(ph), "dos": density_of_states(ph),
                    "thermal": thermal_properties(ph), "frequencies": frequencies_at(ph)}
            for label, ph in phonons.items()}


def load_reference(elastic_json, phonopy_params=None) -> Reference:
    """Reference from the reference stage's files (``elastic.json``, optional ``phonopy_params.yaml``)."""
    doc = json.loads(Path(elastic_json).read_text())
    phonon = load_phonopy(phonopy_params) if phonopy_params else None
    return Reference(np.asarray(doc["matrix_gpa"], dtype=float), phonon)
