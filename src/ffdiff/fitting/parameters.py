"""The fitted subset of a parameter pytree as a flat vector, for optimizers that want one."""

from __future__ import annotations

import dataclasses

import numpy as np

from ffdiff.exceptions import UnknownParameterError
from ffdiff.typing import Array, Params


@dataclasses.dataclass(frozen=True, eq=False)
class ParameterSpace:
    """Which parameters are fitted; the others stay at ``base``.

    Attributes:
        names: fitted parameter names, in vector order.
        base: the full parameter dict (fixed values and starting point).
    """

    names: tuple[str, ...]
    base: Params

    def __post_init__(self):
        unknown = sorted(set(self.names) - set(self.base))
        if unknown or not self.names:
            raise UnknownParameterError(
                f"cannot fit {unknown or 'no parameters'}; expected names among {sorted(self.base)}"
            )

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
        """`[n_fitted]` magnitudes of the base values (1 for zeros): optimizers work on θ / scale,
        so parameters of different sizes (ε ≈ 2 eV, λ ≈ 21) are equally well conditioned."""
        base = np.abs(np.asarray(self.pack(self.base)))
        return np.where(base > 0, base, 1.0)

    def starts(self, n: int, seed: int, spread: float) -> np.ndarray:
        """`[n, n_fitted]` starting points: row 0 the base values, the others multiplied by
        independent uniform factors in [1 - spread, 1 + spread] (seeded)."""
        theta0 = np.asarray(self.pack(self.base))
        rng = np.random.default_rng(seed)
        factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(max(n - 1, 0), len(self.names)))
        return np.vstack([theta0[None, :], theta0[None, :] * factors])[:n]


def unpack(names: tuple[str, ...], theta: Array, base: Params) -> Params:
    """``base`` with the entries ``names`` taken from ``theta`` (`[len(names)]`), in that order."""
    return {**base, **{name: theta[k] for k, name in enumerate(names)}}
