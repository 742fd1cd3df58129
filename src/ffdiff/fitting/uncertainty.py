"""Parameter uncertainty at a fit's optimum: Laplace (Gauss–Newton) covariance and the delta method.

Noise model: each entry t of a target (the `[6, 6]` Voigt stiffness in GPa, the force constants in
eV/Å²) is the model's value plus independent Gaussian noise of that target's standard deviation σ,
so the negative log-likelihood is Σ_targets ‖r(θ)‖² / (2σ²) with r the residual vectors of
:func:`ffdiff.fitting.objectives.residuals`. Near its minimum θ* the posterior (flat prior, or a
Gaussian one) is approximated by N(θ*, Σ) with Σ = (JᵀWJ)⁻¹, J = ∂r/∂θ, W = 1/σ² per target; it is
exact when r is linear in θ (SW's force constants in (ε, ελ)). Predicted properties q(θ) then have
σ_q² = g Σ gᵀ with g = ∂q/∂θ (delta method).

Caveats: the entries are not independent in fact (symmetry repeats each independent number of the
stiffness and of Φ many times, and the orbit-weighted force-constant rows count each row once per
atom of its orbit), so Σ is small by about the square root of that multiplicity; and a fit that does
not minimise this likelihood (the ``multi`` objective's weighted sum of norms, the ``elastic_paper``
convention's doubled shear block, whose residual this model takes as observed) is not at the
likelihood's optimum: :attr:`Laplace.mean` is one Gauss–Newton step from it.

References:
    MacKay, D. J. C. (1992). A practical Bayesian framework for backpropagation networks. Neural
    Computation 4, 448, doi:10.1162/neco.1992.4.3.448 (Laplace / Gauss–Newton posterior).
    Transtrum, M. K., Machta, B. B., Sethna, J. P. (2011). Geometry of nonlinear least squares with
    applications to sloppy models. Phys. Rev. E 83, 036701, doi:10.1103/PhysRevE.83.036701.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.exceptions import UnidentifiableParametersError
from ffdiff.fitting.crystal import crystal_values
from ffdiff.fitting.objectives import Loss, _shared, residuals
from ffdiff.fitting.optimize import COMPILER_OPTIONS
from ffdiff.fitting.parameters import ParameterSpace, unpack
from ffdiff.fitting.geometry import Geometry
from ffdiff.fitting.potential_fit import Reference, build_loss, fit_setup
from ffdiff.properties.dynamical import phonon_cell, squared_frequencies
from ffdiff.properties.elastic import elastic_constants
from ffdiff.properties.equilibrium import equilibrium_lattice_constant
from ffdiff.properties.phonons import HIGH_SYMMETRY, force_constant_rows
from ffdiff.runtime.programs import Program, stable_name
from ffdiff.typing import Array, Params

logger = logging.getLogger(__name__)

ResidualFn = Callable[[Array], Mapping[str, Array]]  # θ `[p]` -> {target: `[m_target]` residual}
LOADING = 0.5  # a direction loads on the parameters whose |component| is at least this × the largest


@dataclasses.dataclass(frozen=True)
class Direction:
    """A principal axis of the posterior in relative coordinates θ_i / |θ*_i|.

    Attributes:
        kind: ``"stiff"`` (precision eigenvalue at or above the geometric mean of the largest and
            smallest) or ``"sloppy"``.
        precision: eigenvalue of the relative precision matrix (1 / relative variance along it).
        std: relative standard deviation along the direction (inf when unidentified).
        vector: `[p]` unit eigenvector, by parameter name.
        loads_on: names with |component| ≥ :data:`LOADING` × the largest, largest first.
    """

    kind: str
    precision: float
    std: float
    vector: dict[str, float]
    loads_on: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Laplace:
    """Gaussian approximation N(θ, covariance) of the posterior of the fitted parameters.

    Attributes:
        names: `[p]` parameter names.
        theta: `[p]` the point it is built at (the fit's optimum).
        mean: `[p]` θ plus one Gauss–Newton step: the likelihood's optimum when r is linear in θ
            (equal to ``theta`` at an optimum of the likelihood).
        covariance: `[p, p]` Σ = (JᵀWJ + prior precision)⁻¹, in the parameters' units.
        precision: `[p, p]` JᵀWJ + prior precision.
        directions: stiffest first (see :class:`Direction`).
        condition_number: largest over smallest eigenvalue of the relative precision (inf if singular).
        singular: whether JᵀWJ was singular and Σ a pseudo-inverse (``on_singular="pinv"``).
    """

    names: tuple[str, ...]
    theta: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    precision: np.ndarray
    directions: tuple[Direction, ...]
    condition_number: float
    singular: bool

    @property
    def std(self) -> np.ndarray:
        """`[p]` marginal standard deviations."""
        return np.sqrt(np.diag(self.covariance))

    def to_dict(self) -> dict:
        std = self.std
        return {"names": list(self.names), "theta": self.theta.tolist(), "mean": self.mean.tolist(),
                "std": std.tolist(), "covariance": self.covariance.tolist(),
                "correlation": (self.covariance / np.outer(std, std)).tolist() if np.all(std > 0) else None,
                "directions": [dataclasses.asdict(d) for d in self.directions],
                "condition_number": self.condition_number, "singular": self.singular}


def theta_residuals(loss: Loss, space: ParameterSpace, base: Params | None = None) -> ResidualFn:
    """θ -> {target: residual} of ``loss``'s targets (one, or both of a weighted sum, whose weights
    do not enter the likelihood), the parameters outside ``space.names`` from ``base``."""
    parts = residuals(loss)
    base = space.base if base is None else base
    return lambda theta: {k: r.fn(unpack(space.names, theta, base), r.data)[0] for k, r in parts.items()}


def laplace_covariance(residual_fn: ResidualFn, theta, sigma: Mapping[str, float], names: Sequence[str], *,
                       prior: tuple[Sequence[float], Sequence[float]] | None = None,
                       on_singular: Literal["raise", "pinv"] = "raise", rcond: float = 1e-12) -> Laplace:
    """The Laplace (Gauss–Newton) posterior of the parameters at ``theta``.

    Args:
        residual_fn: θ -> {target: `[m]` residual} (:func:`theta_residuals`).
        theta: `[p]` the fit's optimum.
        sigma: noise standard deviation of every target of ``residual_fn``, in its units.
        names: `[p]` parameter names (labels of the directions).
        prior: optional Gaussian prior (mean `[p]`, standard deviation `[p]`); flat without.
        on_singular: a JᵀWJ whose smallest relative eigenvalue is ≤ ``rcond`` × its largest raises
            :class:`~ffdiff.exceptions.UnidentifiableParametersError` (``"raise"``, naming the
            unidentified direction), or gives the pseudo-inverse with a logged warning (``"pinv"``:
            zero variance along that direction, which in truth is unbounded; ``singular`` is set).
        rcond: see ``on_singular``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    values, jacobians = _as_numpy(jax.jit(lambda t: (residual_fn(t), jax.jacfwd(residual_fn)(t)))(jnp.asarray(theta)))
    return gauss_newton(values, jacobians, theta, sigma, names, prior=prior, on_singular=on_singular, rcond=rcond)


def gauss_newton(values: Mapping[str, np.ndarray], jacobians: Mapping[str, np.ndarray], theta, sigma: Mapping[str, float],
                 names: Sequence[str], *, prior: tuple[Sequence[float], Sequence[float]] | None = None,
                 on_singular: Literal["raise", "pinv"] = "raise", rcond: float = 1e-12) -> Laplace:
    """:func:`laplace_covariance` from residuals ``values`` {target: `[m]`} and their Jacobians
    {target: `[m, p]`} at ``theta``, computed by the caller."""
    theta = np.asarray(theta, dtype=np.float64)
    names = tuple(names)
    missing = sorted(set(values) - set(sigma))
    if missing:
        raise ValueError(f"no noise level for targets {missing}; got sigma for {sorted(sigma)}")
    precision = sum(jacobians[k].T @ jacobians[k] / sigma[k] ** 2 for k in values)
    gradient = sum(jacobians[k].T @ values[k] / sigma[k] ** 2 for k in values)  # of the NLL
    if prior is not None:
        mean0, std0 = (np.asarray(x, dtype=np.float64) for x in prior)
        precision = precision + np.diag(1.0 / std0 ** 2)
        gradient = gradient + (theta - mean0) / std0 ** 2
    precision = 0.5 * (precision + precision.T)
    scale = np.where(theta != 0, np.abs(theta), 1.0)
    mu, vectors = np.linalg.eigh(precision * np.outer(scale, scale))  # relative coordinates
    null = mu <= rcond * max(mu.max(), np.finfo(float).tiny)
    if null.any():
        labels = [_loads_on(vectors[:, k], names) for k in np.flatnonzero(null)]
        message = (f"JᵀWJ is singular (relative eigenvalues {mu.tolist()}): the data do not determine "
                   f"the combinations of {labels}")
        if on_singular == "raise":
            raise UnidentifiableParametersError(message + "; fix or reparametrise them, or give a prior")
        logger.warning("%s; their variance is reported as zero (pseudo-inverse)", message)
    inverse = np.where(null, 0.0, 1.0 / np.where(null, 1.0, mu))
    covariance = (vectors * inverse) @ vectors.T * np.outer(scale, scale)
    directions = _directions(mu, vectors, null, names)
    return Laplace(names, theta, theta - covariance @ gradient, covariance, precision, directions,
                   float("inf") if null.any() else float(mu.max() / mu.min()), bool(null.any()))


def _as_numpy(tree):
    return jax.tree.map(lambda x: np.asarray(x, dtype=np.float64), tree)


def _directions(mu: np.ndarray, vectors: np.ndarray, null: np.ndarray, names) -> tuple[Direction, ...]:
    """Principal axes, stiffest first; stiff at or above the geometric mean of the extreme eigenvalues."""
    finite = mu[~null]
    threshold = np.sqrt(finite.max() * finite.min()) if finite.size else np.inf
    out = []
    for k in np.argsort(mu)[::-1]:
        vector = vectors[:, k] * np.sign(vectors[np.argmax(np.abs(vectors[:, k])), k])  # largest component > 0
        out.append(Direction("stiff" if not null[k] and mu[k] >= threshold else "sloppy", float(mu[k]),
                             float("inf") if null[k] else float(1 / np.sqrt(mu[k])),
                             dict(zip(names, vector.tolist(), strict=True)), _loads_on(vector, names)))
    return tuple(out)


def _loads_on(vector: np.ndarray, names) -> tuple[str, ...]:
    size = np.abs(vector)
    return tuple(names[i] for i in np.argsort(-size, kind="stable") if size[i] >= LOADING * size.max())


def propagate(cov, fn: Callable[[Params], Array], params: Params, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Delta-method standard deviation of predicted properties q(params).

    Args:
        cov: `[p, p]` covariance of the parameters ``names`` (e.g. :attr:`Laplace.covariance`).
        fn: params -> scalar or `[m]` properties, pure JAX.
        params: the full parameter dict at which to linearise.
        names: `[p]` the parameters ``cov`` is over.

    Returns:
        (q `[m]` or scalar, σ_q of the same shape) with σ_q² = diag(g Σ gᵀ), g = ∂q/∂θ by jax.jacfwd.
    """
    names = tuple(names)
    theta = jnp.asarray([params[n] for n in names], dtype=jnp.float64)

    def q(t):
        return jnp.asarray(fn(unpack(names, t, params)))

    value, g = jax.jit(lambda t: (q(t), jax.jacfwd(q)(t)))(theta)
    return np.asarray(value), delta_method(cov, g)


def delta_method(cov, jacobian) -> np.ndarray:
    """σ_q = √diag(g Σ gᵀ) of properties with Jacobian g (`q.shape + [p]`) and parameter covariance Σ
    (`[p, p]`); shape ``q.shape``."""
    g = np.asarray(jacobian, dtype=np.float64)
    flat = g.reshape(-1, g.shape[-1])
    return np.sqrt(np.einsum("mi,ij,mj->m", flat, np.asarray(cov), flat)).reshape(g.shape[:-1])

def property_fn(geometry: Geometry, params: Params, phonon=None) -> tuple[tuple[str, ...], Loss]:
    """(names, properties) of the study's table: relaxed C11, C12, C44 (GPa, standard convention) of
    ``geometry``'s crystal and, given a phonopy reference, the highest frequency at Γ, X and L (THz)
    of its supercell, as ``properties.fn(params, properties.data) -> (`[m]` values, None)`` (a
    :class:`~ffdiff.fitting.objectives.Loss` that is a vector, so that compiled code takes the
    structures as arguments); structures and lists are built for ``params``. A relaxed geometry's
    structures follow a0(θ), which joins the properties as ``"a0"`` (Å)."""
    names = ("C11", "C12", "C44")
    phonons = None
    if phonon is not None:
        phonons = (geometry.supercell(params), phonon_cell(phonon))
        names += tuple(f"nu_max_{point}" for point in HIGH_SYMMETRY)
    data = (geometry.crystal(params), phonons, jnp.asarray(list(HIGH_SYMMETRY.values())))
    if geometry.relaxed:
        return (*names, "a0"), Loss(_shared(_properties_at_own_lattice, geometry.potential), data)
    return names, Loss(_shared(_properties, geometry.potential.energy), data)


def _properties(energy_fn, params: Params, data) -> tuple[Array, None]:
    crystal, phonons, qpoints = data
    c = elastic_constants(energy_fn, params, *crystal)["relaxed"]
    out = [c[0, 0], c[0, 1], c[3, 3]]
    if phonons is not None:
        supercell, cell = phonons
        nu2 = squared_frequencies(force_constant_rows(energy_fn, params, *supercell, cell.atoms), cell, qpoints)
        out += list(jnp.sqrt(jnp.max(nu2, axis=1)))  # max before √: acoustic ν = 0 has no derivative
    return jnp.stack(out), None


def _properties_at_own_lattice(potential, params: Params, data) -> tuple[Array, None]:
    """:func:`_properties` of structures given per Å of a0, at a0(params), and a0 (Å) last."""
    (position, box, nbrs), phonons, qpoints = data
    a0 = equilibrium_lattice_constant(potential, params)
    if phonons is not None:
        (sc_position, sc_box, sc_nbrs), cell = phonons
        phonons = ((a0 * sc_position, a0 * sc_box, sc_nbrs), cell)
    values, _ = _properties(potential.energy, params, ((a0 * position, a0 * box, nbrs), phonons, qpoints))
    return jnp.concatenate([values, a0[None]]), None


@functools.cache
def _linearised(fn: Callable, names: tuple[str, ...]) -> Program:
    """(θ, base, data) -> (v, ∂v/∂θ) of a vector ``fn(params, data) -> (v, aux)``, compiled once per
    function and fitted names, with the data as arguments (kept on disk like the fits' programs)."""
    def value(theta, base, data):
        return fn(unpack(names, theta, base), data)[0]

    name = stable_name(fn)
    return Program(lambda theta, base, data: (value(theta, base, data), jax.jacfwd(value)(theta, base, data)),
                   None if name is None else f"jacfwd of {name} over {names}", COMPILER_OPTIONS)


def linearise(loss: Loss, space: ParameterSpace, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(v `[m]`, ∂v/∂θ `[m, p]`) of a vector-valued ``loss.fn(params, loss.data)`` at ``params``."""
    theta = space.pack(params)
    return _as_numpy(_linearised(loss.fn, space.names)(theta, jax.tree.map(np.asarray, params), loss.data))


def fit_uncertainty(fits: dict, reference: Reference, *, lattice_constant: float, sigma_elastic_gpa: float,
                    sigma_force_constants_ev_a2: float, overrides: Mapping[str, float] | None = None,
                    prior_relative_std: float | None = None) -> dict:
    """Laplace posterior of a fit's best parameters and the properties' standard deviations.

    Args:
        fits: a :func:`ffdiff.fitting.potential_fit.fit_potential` result.
        reference: the fit's targets (its phonopy reference also gives the frequencies).
        lattice_constant: of the diamond crystal, in Å.
        sigma_elastic_gpa: noise of every stiffness entry (GPa).
        sigma_force_constants_ev_a2: noise of every force-constant entry (eV/Å²).
        overrides: the fit's fixed parameter values.
        prior_relative_std: a Gaussian prior on each fitted parameter, centred on its starting value
            θ₀ with standard deviation this × |θ₀| (1 where θ₀ = 0); None: flat. Fits of more parameters
            than the targets determine (``fitted="all"``) need one.

    Returns:
        ``{"potential", "objective" (the fit's label), "noise", "prior_relative_std", "laplace",
        "parameters", "properties"}``; parameters and
        properties as ``{name: {"value", "std"}}``.
    """
    geometry, space = fit_setup(fits["potential"], fits["fitted"], reference.phonon, lattice_constant, overrides,
                             fits.get("geometry", "fixed"))
    params = {**space.base, **fits["best"]["params"]}
    # The weights of the multi objective scale its loss, not the likelihood: any but 0 will do here.
    weights = {k: 1.0 for k, w in fits.get("weights", {"elastic": 1.0, "force_constants": 1.0}).items() if w}
    loss = build_loss(fits["objective"], geometry, reference, params, weights)
    # The scalar targets' residuals are in units of their own standard deviations.
    noise = {"elastic": sigma_elastic_gpa, "force_constants": sigma_force_constants_ev_a2, "crystal": 1.0}
    linear = {target: linearise(r, space, params) for target, r in residuals(loss).items()}
    prior = None
    if prior_relative_std is not None:
        start = space.pack(space.base)
        prior = (start, prior_relative_std * np.where(start != 0, np.abs(start), 1.0))
    laplace = gauss_newton({k: v for k, (v, _) in linear.items()}, {k: j for k, (_, j) in linear.items()},
                           space.pack(params), noise, space.names, prior=prior)
    names, props = property_fn(geometry, params, reference.phonon)
    values, jacobian = linearise(props, space, params)
    extra = [t for t in reference.crystal if t.name not in names]  # the scalar targets' quantities
    if extra:
        keys = tuple(t.key for t in extra)
        more, more_jacobian = linearise(Loss(_shared(crystal_values, geometry.potential, keys), None), space, params)
        names = (*names, *(t.name for t in extra))
        values, jacobian = np.concatenate([values, more]), np.concatenate([jacobian, more_jacobian])
    stds = delta_method(laplace.covariance, jacobian)
    logger.info("%s, %s: σ(θ) = %s, condition number %.3g", fits["potential"], fits["objective"],
                dict(zip(space.names, laplace.std.tolist(), strict=True)), laplace.condition_number)
    return {"potential": fits["potential"], "objective": fits.get("label", fits["objective"]),
            "noise": {k: noise[k] for k in linear}, "prior_relative_std": prior_relative_std,
            "laplace": laplace.to_dict(),
            "parameters": {n: {"value": float(t), "std": float(s)}
                           for n, t, s in zip(space.names, laplace.theta, laplace.std, strict=True)},
            "properties": {n: {"value": float(v), "std": float(s)} for n, v, s in zip(names, values, stds, strict=True)}}
