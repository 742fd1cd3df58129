"""Losses of the property fits: ``loss(params) -> scalar``, pure and differentiable.

Each loss is a :class:`Loss`: a function of (parameters, data) and the data it is evaluated on
(structures, neighbour lists, targets, weights). Compiled code takes the data as an argument rather
than baking it in as constants, so a changed target, weight or structure of the same shape reuses
the compiled function and JAX's persistent compilation cache. Alongside its value a loss returns
the property it compared (elastic constants, force constants): the fits report those properties
through the very program they minimise, and compile nothing else for them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.fitting.crystal import CrystalTarget, crystal_data, crystal_residual
from ffdiff.neighbors import NeighborList
from ffdiff.properties.elastic import elastic_constants, paper_convention
from ffdiff.properties.equilibrium import equilibrium_lattice_constant
from ffdiff.properties.phonons import force_constant_rows, force_constants
from ffdiff.typing import Array, EnergyFn, Params

Convention = Literal["standard", "paper"]


@dataclasses.dataclass(frozen=True)
class Loss:
    """``fn(params, data) -> (value, aux)`` with its ``data`` (a pytree of arrays); ``loss(params)``
    is the value, ``aux`` the compared property.

    Losses of one kind share one ``fn`` object (per energy function), so that compiled programs,
    which are keyed on it, are shared too. A weighted sum of losses (:func:`init_weighted_loss`)
    also keeps its ``parts``, (name, weight, loss), so that its parts can be compiled apart and share
    their programs with fits to each part.
    """

    fn: Callable[[Params, Any], tuple[Array, Any]]
    data: Any
    parts: tuple[tuple[str, float, Loss], ...] = ()

    def __call__(self, params: Params) -> Array:
        return self.fn(params, self.data)[0]

    @property
    def weights(self) -> dict[str, float]:
        """Each part's weight, by name (empty for a loss that is not a sum)."""
        return {name: weight for name, weight, _ in self.parts}

    def total(self, values: Mapping[str, Any]) -> Any:
        """The weighted sum of the parts' ``values`` (numbers or gradients), as this loss sums them."""
        return weighted_sum(self.weights, values)


def weighted_sum(weights: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
    """Σ_k w_k · values[k], in the order of ``weights``: the one place the multi-objective sum is
    written (the traced loss, the sum of its compiled parts and the fits' consistency check use it)."""
    return sum(weights[k] * values[k] for k in weights)


def as_loss(loss: Loss | Callable[[Params], Array]) -> Loss:
    """A :class:`Loss` as is; a plain ``loss(params)`` as one without data or aux (whatever it closes
    over is compiled in as constants)."""
    return loss if isinstance(loss, Loss) else Loss(lambda params, _: (loss(params), None), None)


_shared = functools.cache(functools.partial)  # one fn object per (kind, energy function)


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
                      target: Array, convention: Convention = "standard") -> Loss:
    """‖C(params) − C_ref‖_F over the relaxed `[6, 6]` Voigt matrix in GPa.

    ``target`` is in the standard convention; with ``convention="paper"`` both matrices get their
    shear block doubled first, as in Gangan et al.'s tables. The convention enters as data (an
    elementwise scale), so both conventions share one compiled loss. Its aux is the ``{"born",
    "relaxed"}`` matrices of :func:`ffdiff.properties.elastic.elastic_constants` (GPa, standard
    convention).
    """
    scale = in_convention(np.ones((6, 6)), convention)
    data = (position, box, neighbors, *jax.device_put((scale, scale * np.asarray(target))))
    return Loss(_shared(_elastic_loss, energy_fn), data)


def _elastic_loss(energy_fn: EnergyFn, params: Params, data) -> tuple[Array, dict[str, Array]]:
    return _norm(*_elastic_residual(energy_fn, params, data))


def _elastic_residual(energy_fn: EnergyFn, params: Params, data) -> tuple[Array, dict[str, Array]]:
    """`[36]` residual C(params) − C_ref (GPa, the loss's convention), row-major; aux as the loss's."""
    position, box, neighbors, scale, ref = data
    moduli = elastic_constants(energy_fn, params, position, box, neighbors)
    return (scale * moduli["relaxed"] - ref).ravel(), {"born": moduli["born"], "relaxed": moduli["relaxed"]}


def init_force_constant_loss(energy_fn: EnergyFn, position: Array, box: Array, neighbors: NeighborList,
                             target: Array, orbits: tuple[Array, Array] | None = None) -> Loss:
    """‖Φ(params) − Φ_ref‖_F over the `[n, n, 3, 3]` force constants in eV/Å² (same atom order).

    With ``orbits`` = (symmetry-independent atoms, their orbit sizes) only those atoms' rows are
    computed and each row's squared misfit counts once per atom of its orbit: the same loss when
    both Φ and Φ_ref have the supercell's symmetry (a perfect crystal, phonopy's force constants),
    for 3 Hessian-vector products per independent atom instead of a full Hessian.

    Its aux is the force constants computed: the full matrix, or the independent atoms' rows.
    """
    target = np.asarray(target)
    if orbits is None:
        return Loss(_shared(_force_constant_loss, energy_fn), (position, box, neighbors, jax.device_put(target)))
    atoms, counts = (np.asarray(x) for x in orbits)
    data = (position, box, neighbors, *jax.device_put((target[atoms], atoms, counts.astype(target.dtype))))
    return Loss(_shared(_force_constant_rows_loss, energy_fn), data)


def _force_constant_loss(energy_fn: EnergyFn, params: Params, data) -> tuple[Array, Array]:
    return _norm(*_force_constant_residual(energy_fn, params, data))


def _force_constant_residual(energy_fn: EnergyFn, params: Params, data) -> tuple[Array, Array]:
    """`[n·n·9]` residual Φ(params) − Φ_ref (eV/Å²), row-major; aux as the loss's."""
    position, box, neighbors, ref = data
    fc = force_constants(energy_fn, params, position, box, neighbors)
    return (fc - ref).ravel(), fc


def _force_constant_rows_loss(energy_fn: EnergyFn, params: Params, data) -> tuple[Array, Array]:
    return _norm(*_force_constant_rows_residual(energy_fn, params, data))


def _force_constant_rows_residual(energy_fn: EnergyFn, params: Params, data) -> tuple[Array, Array]:
    """`[len(atoms)·n·9]` residual rows Φ[i] − Φ_ref[i] (eV/Å²), each scaled by √(orbit size of i): its
    squared norm is the full matrix's when both have the supercell's symmetry; aux as the loss's."""
    position, box, neighbors, ref_rows, atoms, counts = data
    rows = force_constant_rows(energy_fn, params, position, box, neighbors, atoms)
    return (jnp.sqrt(counts)[:, None, None, None] * (rows - ref_rows)).ravel(), rows


def init_crystal_loss(potential, targets: tuple[CrystalTarget, ...]) -> Loss:
    """‖r‖ over the scalar targets of the zero-pressure crystal, r_k = (q_k(θ) − q_k,ref) / σ_k
    (dimensionless; see :mod:`ffdiff.fitting.crystal`). Its aux is ``{"values": `[n]`}``, the
    targets' quantities in their order. Losses over the same quantities share one compiled program
    whatever their reference values."""
    keys, data = crystal_data(targets)
    return Loss(_shared(_crystal_loss, potential, keys), data)


def _crystal_loss(potential, keys, params: Params, data) -> tuple[Array, dict[str, Array]]:
    return _norm(*crystal_residual(potential, keys, params, data))


def at_own_lattice(potential, loss: Loss) -> Loss:
    """``loss`` (elastic or force-constant) evaluated on its structure scaled to the potential's own
    zero-pressure lattice constant a0(params) of diamond
    (:func:`ffdiff.properties.equilibrium.equilibrium_lattice_constant`, differentiable by implicit
    differentiation): ``loss.data`` holds positions and box for a = 1 Å and a neighbour list that
    serves every scale the fit reaches (see :class:`ffdiff.fitting.potential_fit.Geometry`). The elastic
    loss's aux gains ``"lattice_constant"`` (Å)."""
    return Loss(_shared(_scaled, potential, loss.fn.func), loss.data)


def _scaled(potential, kind: Callable, params: Params, data) -> tuple[Array, Any]:
    unit_position, unit_box, *rest = data
    a0 = equilibrium_lattice_constant(potential, params)
    value, aux = kind(potential.energy, params, (a0 * unit_position, a0 * unit_box, *rest))
    return value, ({**aux, "lattice_constant": a0} if isinstance(aux, dict) else aux)


def _norm(residual: Array, aux: Any) -> tuple[Array, Any]:
    return jnp.sqrt(jnp.sum(residual ** 2)), aux


# Each Frobenius loss's residual vector (loss = ‖residual‖) and the target it compares.
_RESIDUALS = {_elastic_loss: ("elastic", _elastic_residual),
              _force_constant_loss: ("force_constants", _force_constant_residual),
              _force_constant_rows_loss: ("force_constants", _force_constant_rows_residual),
              _crystal_loss: ("crystal", crystal_residual)}


def residuals(loss: Loss) -> dict[str, Loss]:
    """The residual vectors whose Frobenius norms make ``loss``, by target (``"elastic"`` in GPa,
    ``"force_constants"`` in eV/Å²): ``r.fn(params, r.data) -> (`[m]` residual, aux)`` with the loss's
    own data, so ``‖r‖ = loss`` for one target and ``Σ_k w_k ‖r_k‖`` = a weighted sum's value;
    ``"crystal"`` (dimensionless) for :func:`init_crystal_loss`."""
    if loss.parts:
        return {target: r for _, _, part in loss.parts for target, r in residuals(part).items()}
    fn = loss.fn
    if isinstance(fn, functools.partial) and fn.func is _scaled:  # at_own_lattice: the same scaling
        potential, kind = fn.args
        target, residual_fn = _RESIDUALS[kind]
        return {target: Loss(_shared(_scaled, potential, residual_fn), loss.data)}
    if not (isinstance(fn, functools.partial) and fn.func in _RESIDUALS):
        raise ValueError(f"expected a loss of init_elastic_loss, init_force_constant_loss or init_crystal_loss, "
                         f"got {fn!r}")
    target, residual_fn = _RESIDUALS[fn.func]
    return {target: Loss(_shared(residual_fn, *fn.args), loss.data)}


def init_regularization(origin: Mapping[str, float]) -> Loss:
    """Σ_k ((θ_k − θ_k,0) / |θ_k,0|)² over the parameters named in ``origin`` (their values θ_0;
    |θ_k,0| is taken as 1 where θ_k,0 = 0): a dimensionless relative L2 distance from the starting
    parameters, which picks one optimum among many where parameters are redundant (SW's ε against
    A and λ). Its aux is None. Every regularisation shares one ``fn``; the names are the data's keys.
    """
    values = {k: np.float64(v) for k, v in origin.items()}
    scale = {k: np.float64(abs(v) if v != 0 else 1.0) for k, v in values.items()}
    return Loss(_regularization, jax.device_put((values, scale)))


def _regularization(params: Params, data) -> tuple[Array, None]:
    origin, scale = data
    return sum(((params[k] - origin[k]) / scale[k]) ** 2 for k in origin), None


def squared(loss: Loss) -> Loss:
    """``loss(params)²`` with ``loss``'s data and aux: a squared norm ‖·‖_F² of a Frobenius loss. Every
    squared loss of one kind shares one ``fn``. A weighted sum is squared part by part,
    Σ_k w_k · loss_k², which keeps its parts (compiled apart)."""
    if loss.parts:
        return init_weighted_loss({name: squared(part) for name, _, part in loss.parts}, loss.weights)
    return Loss(_shared(_squared, loss.fn), loss.data)


def _squared(fn: Callable, params: Params, data) -> tuple[Array, Any]:
    value, aux = fn(params, data)
    return value ** 2, aux


def regularized(loss: Loss, origin: Mapping[str, float], strength: float) -> Loss:
    """``loss`` + strength · :func:`init_regularization` (``origin``), as a weighted sum whose parts
    are ``"fit"`` (``loss`` itself, so its compiled program is that of the plain fit) and
    ``"regularization"``; ``loss`` unchanged if ``strength`` is 0."""
    if strength < 0:
        raise ValueError(f"expected a regularization strength >= 0, got {strength!r}")
    if strength == 0:
        return loss
    return init_weighted_loss({"fit": loss, "regularization": init_regularization(origin)},
                              {"fit": 1.0, "regularization": strength})


def init_weighted_loss(losses: Mapping[str, Loss], weights: Mapping[str, float]) -> Loss:
    """Σ_k w_k · loss_k(params) (the multi-objective fit); its aux is ``{k: aux_k}``."""
    if set(losses) != set(weights):
        raise ValueError(f"weights {sorted(weights)} do not match losses {sorted(losses)}")

    fns = {k: loss.fn for k, loss in losses.items()}
    data = {k: (jax.device_put(np.float64(weights[k])), loss.data) for k, loss in losses.items()}
    parts = tuple((k, float(weights[k]), loss) for k, loss in losses.items())
    return Loss(functools.partial(_weighted_loss, fns), data, parts)


def _weighted_loss(fns: Mapping[str, Callable], params: Params, data) -> tuple[Array, dict[str, Any]]:
    values = {k: fns[k](params, part) for k, (_, part) in data.items()}  # data: {k: (weight, data_k)}
    return (weighted_sum({k: weight for k, (weight, _) in data.items()}, {k: v for k, (v, _) in values.items()}),
            {k: aux for k, (_, aux) in values.items()})
