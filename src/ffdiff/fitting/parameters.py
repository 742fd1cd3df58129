"""The fitted subset of a parameter pytree as a flat vector, for optimizers that want one, and the
bijection that lets an optimizer move freely while the parameters stay inside their legal ranges.

Two vectors describe a fit's state: θ, the fitted parameters' values (`[n_fitted]`, in their units;
:meth:`ParameterSpace.pack`, :meth:`ParameterSpace.unpack`), and u, unconstrained and dimensionless
(:meth:`ParameterSpace.free`, :meth:`ParameterSpace.bounded`). Each θ_k is a smooth, increasing
function of u_k alone, with s_k the magnitude of the starting value (:attr:`ParameterSpace.scale`):

* no bound: θ = s u;
* lower bound L: θ = L + s softplus(u), softplus(u) = log(1 + e^(k u)) / k;
* upper bound U: θ = U − s softplus(−u);
* both: θ = L + (U − L) / (1 + e⁻ᵘ).

A one-sided map is the scaled identity θ = L + s u, to a relative e^(−k (θ − L) / s), until the
parameter comes within a few s / k of its bound, where it turns exponential and never reaches it
(the sharpness k = :data:`SHARPNESS`). So a unit step in u moves any parameter by about its own
magnitude (or its interval's width), parameters of different sizes stay equally conditioned, and a
fit far inside its bounds takes the very steps of an unbounded one in θ / s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from ffdiff.exceptions import UnknownParameterError
from ffdiff.typing import Array, Params

Bounds = Mapping[str, tuple[float | None, float | None]]
SHARPNESS = 10.0  # k: a parameter at its start (θ − L ≈ s) is e^-10 ≈ 5e-5 from the linear map


@dataclasses.dataclass(frozen=True, eq=False)
class ParameterSpace:
    """Which parameters are fitted, within which bounds; the others stay at ``base``.

    Attributes:
        names: fitted parameter names, in vector order.
        base: the full parameter dict (fixed values and starting point).
        bounds: open interval (lower, upper) of each parameter, None for no bound; names missing
            from it are unbounded. The fitted ones' ``base`` values must lie strictly inside.
    """

    names: tuple[str, ...]
    base: Params
    bounds: Bounds = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        unknown = sorted(set(self.names) - set(self.base))
        if unknown or not self.names:
            raise UnknownParameterError(
                f"cannot fit {unknown or 'no parameters'}; expected names among {sorted(self.base)}"
            )
        lower, upper = self.interval
        for name, value, lo, hi in zip(self.names, self.pack(self.base), lower, upper, strict=True):
            if not lo < hi:
                raise ValueError(f"bounds of {name}: expected lower < upper, got ({lo}, {hi})")
            if not lo < value < hi:
                raise ValueError(f"{name} = {float(value)!r} is not inside its legal range ({lo}, {hi}); "
                                 "start a bounded fit from a value inside it")

    def unpack(self, theta: Array, base: Params | None = None) -> Params:
        """Full parameter dict with the fitted entries taken from ``theta`` (`[n_fitted]`), the others
        from ``base`` (default :attr:`base`; pass it to compiled code as an argument)."""
        return unpack(self.names, theta, self.base if base is None else base)

    def pack(self, params: Params) -> np.ndarray:
        """`[n_fitted]` float64 vector of the fitted entries of ``params`` (on the host: a JAX op here
        would compile a program of its own in every job)."""
        return np.array([np.asarray(params[name], dtype=np.float64) for name in self.names])

    @property
    def scale(self) -> np.ndarray:
        """`[n_fitted]` magnitudes s of the base values (1 for zeros): the unconstrained u is θ / s
        (shifted to the bound) away from the bounds, so parameters of different sizes (ε ≈ 2 eV,
        λ ≈ 21) are equally well conditioned."""
        base = np.abs(np.asarray(self.pack(self.base)))
        return np.where(base > 0, base, 1.0)

    @property
    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        """(`[n_fitted]` lower, `[n_fitted]` upper) bounds of the fitted parameters, ±inf for none."""
        pairs = [self.bounds.get(name, (None, None)) for name in self.names]
        return (np.array([-np.inf if lo is None else lo for lo, _ in pairs], dtype=np.float64),
                np.array([np.inf if hi is None else hi for _, hi in pairs], dtype=np.float64))

    def free(self, theta) -> np.ndarray:
        """`[n_fitted]` unconstrained u of the values ``theta`` (`[n_fitted]`, strictly inside the
        bounds): the inverse of :meth:`bounded`."""
        theta = np.asarray(theta, dtype=np.float64)
        lower, upper = self.interval
        outside = np.any(~((lower < theta) & (theta < upper)), axis=tuple(range(theta.ndim - 1)))
        if np.any(outside):
            found = {name: (float(lo), float(hi)) for name, lo, hi, out in zip(self.names, lower, upper, outside) if out}
            raise ValueError(f"values of {list(found)} outside their legal ranges {found}")
        s = self.scale
        with np.errstate(divide="ignore", invalid="ignore"):  # each branch is computed everywhere
            both = np.log(theta - lower) - np.log(upper - theta)
            above = _softplus_inverse((theta - lower) / s)
            below = -_softplus_inverse((upper - theta) / s)
        return _by_kind(lower, upper, theta / s, above, below, both)

    def bounded(self, u) -> np.ndarray:
        """`[n_fitted]` values θ of the unconstrained ``u`` (`[n_fitted]`), strictly inside the bounds
        (clipped to the nearest float inside where the map saturates, beyond |u| ≈ 37)."""
        u = np.asarray(u, dtype=np.float64)
        lower, upper = self.interval
        s = self.scale
        with np.errstate(invalid="ignore"):
            theta = _by_kind(lower, upper, s * u, lower + s * _softplus(u), upper - s * _softplus(-u),
                             lower + (upper - lower) * _expit(u))
        return np.clip(theta, np.nextafter(lower, np.inf), np.nextafter(upper, -np.inf))

    def jacobian(self, u) -> np.ndarray:
        """`[n_fitted]` dθ_k/du_k of :meth:`bounded` (the map is elementwise, its Jacobian diagonal):
        ∂loss/∂u = ∂loss/∂θ · jacobian(u)."""
        u = np.asarray(u, dtype=np.float64)
        lower, upper = self.interval
        s = self.scale
        with np.errstate(invalid="ignore"):
            return _by_kind(lower, upper, s, s * _expit(SHARPNESS * u), s * _expit(-SHARPNESS * u),
                            (upper - lower) * _expit(u) * _expit(-u))

    def starts(self, n: int, seed: int, spread: float) -> np.ndarray:
        """`[n, n_fitted]` starting values θ: row 0 the base values, the others multiplied by
        independent uniform factors in [1 - spread, 1 + spread] (seeded); a factor that would leave
        a parameter's bounds puts it halfway between its base value and the bound instead."""
        theta0 = np.asarray(self.pack(self.base))
        rng = np.random.default_rng(seed)
        factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(max(n - 1, 0), len(self.names)))
        starts = np.vstack([theta0[None, :], theta0[None, :] * factors])[:n]
        lower, upper = self.interval
        starts = np.where(starts <= lower, 0.5 * (theta0 + lower), starts)
        return np.where(starts >= upper, 0.5 * (theta0 + upper), starts)


def unpack(names: tuple[str, ...], theta: Array, base: Params) -> Params:
    """``base`` with the entries ``names`` taken from ``theta`` (`[len(names)]`), in that order."""
    return {**base, **{name: theta[k] for k, name in enumerate(names)}}


def _by_kind(lower, upper, none, above, below, both) -> np.ndarray:
    """Elementwise pick of the unbounded, lower-bounded, upper-bounded or two-sided case."""
    has_lower, has_upper = np.isfinite(lower), np.isfinite(upper)
    return np.where(has_lower & has_upper, both,
                    np.where(has_lower, above, np.where(has_upper, below, none)))


def _expit(u: np.ndarray) -> np.ndarray:
    """1 / (1 + e⁻ᵘ) without overflow."""
    return np.exp(-np.logaddexp(0.0, -u))


def _softplus(u: np.ndarray) -> np.ndarray:
    """log(1 + e^(k u)) / k without overflow."""
    return np.logaddexp(0.0, SHARPNESS * u) / SHARPNESS


def _softplus_inverse(y: np.ndarray) -> np.ndarray:
    """u with :func:`_softplus` (u) = y > 0: log(e^(k y) − 1) / k = y + log(1 − e^(−k y)) / k, exact
    for small and large y."""
    return y + np.log(-np.expm1(-SHARPNESS * y)) / SHARPNESS
