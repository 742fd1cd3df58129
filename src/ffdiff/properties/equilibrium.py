"""Zero-pressure geometry of ideal crystals, differentiable in every potential parameter.

The cell parameters x (``a``; ``a`` and ``c`` for β-Sn) minimise the energy per atom e(x; θ) with the
fractional coordinates fixed by symmetry. The root of g = ∂e/∂x is found by Newton steps (a few, with
``jax.grad`` twice), and its derivative comes from the implicit function theorem through
``jax.lax.custom_root``:

.. math::
    \\frac{dx_0}{d\\theta} = -\\left(\\frac{\\partial g}{\\partial x}\\right)^{-1} \\frac{\\partial g}{\\partial \\theta},

never by differentiating the solver's iterations (their number does not enter the gradient).

Without a ``guess`` the Newton steps start from the lowest energy of a scan over the nearest-neighbour
distance d ∈ [0.55, 0.95] × the potential's cutoff (diamond Si: d = 2.35 Å is 0.62 of SW's 3.77 Å, 0.75
of EDIP's 3.12 Å, 0.73 of Tersoff's 3.2 Å); β-Sn is scanned at c/a = 0.55 and then relaxed in a and c.

Neighbour lists store image shifts in fractional form (r_ij = r_j − r_i + S·h), so one list serves every
cell it was built for or any stretch of it: the list is built on the host for the smallest cell the solver
starts from (the scan's, or 0.85 × ``guess``) with the range :data:`RANGE_MARGIN` × the cutoff, and it
holds every pair within the cutoff of any cell no smaller along each axis. The solution is checked
against that (with the cutoff of the actual parameters) and against convergence; a failed check raises
:class:`~ffdiff.exceptions.EquilibriumError` on concrete values and gives NaN inside ``jit``/``grad``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.exceptions import EquilibriumError
from ffdiff.neighbors import neighbor_list
from ffdiff.neighbors.overflow import guard
from ffdiff.potentials import Potential, get_potential
from ffdiff.properties.elastic import elastic_constants
from ffdiff.typing import Array, Params
from ffdiff.units import EV_PER_A3_TO_GPA

__all__ = ["STRUCTURES", "cell", "equilibrium", "equilibrium_lattice_constant", "relaxed_elastic_constants"]

#: The list's range over the cutoff (at the parameters given, or at the potential's defaults when the
#: parameters are traced): parameter sets whose cutoff is up to 5 % longer are served by the same list.
RANGE_MARGIN = 1.05
SCAN = (0.55, 0.95, 41)  # nearest-neighbour distance / cutoff: from, to, points
GUESS_HEADROOM = 0.85  # the list built from a guess serves cells down to this fraction of it
TOLERANCE = 1e-12  # relative size of a further Newton step at the solution
MAX_STEPS = 60
MAX_STRETCH = 0.05  # largest relative change of a cell parameter in one Newton step


@dataclasses.dataclass(frozen=True)
class Structure:
    """An ideal crystal: fractional coordinates in a cell diag(a, a, c).

    Attributes:
        fractional: `[n_atoms, 3]` fractional coordinates.
        c_over_a: default c/a; None for a cubic cell (c = a, one cell parameter).
    """

    fractional: np.ndarray
    c_over_a: float | None = None

    @property
    def n_params(self) -> int:
        return 1 if self.c_over_a is None else 2

    def nearest_neighbor(self) -> float:
        """Nearest-neighbour distance over a at the default c/a (from the coordinates)."""
        box = np.diag([1.0, 1.0, self.c_over_a or 1.0])
        images = np.array(list(itertools.product((-1, 0, 1), repeat=3))) @ box
        d = self.fractional[None, :, None] @ box - self.fractional[:, None, None] @ box + images[None, None]
        r = np.linalg.norm(d, axis=-1)
        return float(r[r > 1e-9].min())


_DIAMOND = np.array([[0.0, 0.0, 0.0], [0.25, 0.25, 0.25], [0.0, 0.5, 0.5], [0.25, 0.75, 0.75],
                     [0.5, 0.0, 0.5], [0.75, 0.25, 0.75], [0.5, 0.5, 0.0], [0.75, 0.75, 0.25]])
STRUCTURES = {
    "diamond": Structure(_DIAMOND),  # 8-atom cubic cell, ASE's bulk("Si", "diamond", cubic=True) order
    "beta_sn": Structure(np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.25], [0.5, 0.5, 0.5], [0.5, 0.0, 0.75]]),
                         c_over_a=0.55),  # I4_1/amd (A5), conventional 4-atom cell; Si's c/a ≈ 0.55
    "fcc": Structure(np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])),
    "bcc": Structure(np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]])),
    "sc": Structure(np.zeros((1, 3))),
}


def _structure(name: str) -> Structure:
    try:
        return STRUCTURES[name]
    except KeyError:
        raise ValueError(f"unknown structure {name!r}; expected one of {sorted(STRUCTURES)}") from None


def cell(structure: str, x) -> tuple[Array, Array]:
    """(`[n_atoms, 3]` positions, `[3, 3]` box) in Å of ``structure`` with cell parameters ``x``
    (`[1]`: a; `[2]`: a, c; in Å), differentiable in ``x``."""
    s = _structure(structure)
    x = jnp.asarray(x)
    box = jnp.diag(jnp.stack([x[0], x[0], x[-1]]))
    return jnp.asarray(s.fractional) @ box, box


def _is_traced(tree) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(tree))


def _candidates(s: Structure, cutoff: float, guess) -> tuple[np.ndarray, np.ndarray]:
    """(smallest cell the list must serve `[n_params]`, `[k, n_params]` cells to start from: the lowest
    in energy is taken; one row for a ``guess``, the scan otherwise)."""
    ratio = s.c_over_a or 1.0
    if guess is not None:
        g = np.atleast_1d(np.asarray(guess, dtype=np.float64))
        if g.size not in (1, s.n_params):
            raise ValueError(f"expected a guess of {s.n_params} cell parameter(s) in Å, got {g.tolist()}")
        rows = np.array([[g[0], g[-1] if g.size == 2 else ratio * g[0]]])
        smallest = GUESS_HEADROOM * rows[0]
    else:
        a = np.linspace(*SCAN) * cutoff / s.nearest_neighbor()
        rows = np.stack([a, ratio * a], axis=1)
        smallest = rows[0]
    keep = slice(0, s.n_params) if s.n_params == 2 else slice(0, 1)
    return smallest[keep], rows[:, keep]


def _newton(f, x0):
    """Newton steps on f = ∂e/∂x, each component's change capped at :data:`MAX_STRETCH` (relative); a
    step against non-positive curvature moves downhill by that cap instead."""

    def step(x):
        h = jax.jacfwd(f)(x)
        g = f(x)
        convex = jnp.all(jnp.linalg.eigvalsh(h) > 0)
        dx = jnp.where(convex, -jnp.linalg.solve(h, g), -jnp.sign(g) * MAX_STRETCH * x)
        return jnp.clip(dx, -MAX_STRETCH * x, MAX_STRETCH * x)

    def body(state):
        x, _, k = state
        dx = step(x)
        return x + dx, jnp.max(jnp.abs(dx / x)), k + 1

    def cond(state):
        _, size, k = state
        return (size > 0.1 * TOLERANCE) & (k < MAX_STEPS)

    return jax.lax.while_loop(cond, body, (x0, jnp.inf, 0))[0]


def _tangent_solve(g, y):
    return jnp.linalg.solve(jax.jacobian(g)(y), y)


def _cutoff_of(potential: Potential, params: Params) -> Array:
    """The potential's cutoff (Å) at ``params``, also when they are traced (read on the host)."""
    fixed = jax.lax.stop_gradient(params)
    return jax.pure_callback(lambda p: np.float64(potential.cutoff(p)), jax.ShapeDtypeStruct((), jnp.float64),
                             fixed, vmap_method="sequential")


@functools.lru_cache(maxsize=64)
def _list(structure: str, smallest: tuple[float, ...], radius: float, triplets: bool):
    box = np.diag([smallest[0], smallest[0], smallest[-1]])  # numpy: may run while the caller traces
    position = _structure(structure).fractional @ box
    with jax.ensure_compile_time_eval():  # concrete arrays even while a caller's jit traces
        return neighbor_list(position, box, radius, triplets=triplets)


def _setup(potential: Potential, params: Params, structure: str, guess):
    """(starting cells `[k, n_params]`, smallest cell served, neighbour list) on the host.

    The list's range is :data:`RANGE_MARGIN` × the cutoff of the potential's default parameters, so that
    nearby parameter sets (finite differences, fits, traced ones) share one list and one compiled
    program; concrete ``params`` whose cutoff reaches beyond it get their own list."""
    s = _structure(structure)
    cutoff = potential.cutoff(dict(potential.default_params))  # floats: potential.params() traces under jit
    if not _is_traced(params) and potential.cutoff(params) > RANGE_MARGIN * cutoff:
        cutoff = potential.cutoff(params)
    smallest, rows = _candidates(s, cutoff, guess)
    nbrs = _list(structure, tuple(float(v) for v in smallest), RANGE_MARGIN * cutoff, potential.triplets)
    return jnp.asarray(rows), jnp.asarray(smallest), nbrs


def _energy_fn(potential: Potential, structure: str, nbrs):
    n = len(_structure(structure).fractional)

    def energy(x, params):
        position, box = cell(structure, x)
        return potential.energy(params, position, box, nbrs) / n

    return energy


def _solve(potential: Potential, structure: str, params: Params, rows, smallest, nbrs):
    """(cell parameters `[n_params]`, ok flag, (converged, covered)): the implicit root of ∂e/∂x, checked
    to be a minimum converged to :data:`TOLERANCE` and inside the list's range."""
    energy = _energy_fn(potential, structure, nbrs)
    e_rows = jax.vmap(lambda x: energy(x, jax.lax.stop_gradient(params)))(rows)
    start = rows[jnp.nanargmin(e_rows)]
    grad = jax.grad(energy)
    x0 = jax.lax.custom_root(lambda x: grad(x, params), start, _newton, _tangent_solve)
    fixed, p = jax.lax.stop_gradient(x0), jax.lax.stop_gradient(params)
    h = jax.hessian(energy)(fixed, p)
    further = jnp.linalg.solve(h, grad(fixed, p))
    converged = jnp.all(jnp.abs(further) <= TOLERANCE * fixed) & jnp.all(jnp.linalg.eigvalsh(h) > 0)
    covered = jnp.min(fixed / smallest) * nbrs.cutoff >= _cutoff_of(potential, params)
    return x0, converged & covered, (converged, covered)


@functools.partial(jax.jit, static_argnames=("potential", "structure", "elastic"))
def _program(potential: Potential, structure: str, params: Params, rows, smallest, nbrs, elastic: bool):
    """Everything :func:`equilibrium` (or, with ``elastic``, :func:`relaxed_elastic_constants`) returns,
    and the checks."""
    x0, ok, checks = _solve(potential, structure, params, rows, smallest, nbrs)
    x0 = guard(x0, ~ok)
    out = {"lattice_constant": x0[0]}
    if elastic or x0.shape[0] == 2:
        position, box = cell(structure, x0)
        moduli = elastic_constants(potential.energy, params, position, box, nbrs)
    if elastic:
        return {**moduli, **out}, ok, checks
    energy = _energy_fn(potential, structure, nbrs)
    out["energy_per_atom"] = energy(x0, params)
    if x0.shape[0] == 2:
        out["c"] = x0[1]
        out["bulk_modulus"] = 1.0 / jnp.sum(jnp.linalg.inv(moduli["relaxed"])[:3, :3])
    else:
        a = x0[0]
        curvature = jax.grad(jax.grad(lambda t: energy(jnp.stack([t]), params)))(a)
        volume = a**3 / len(_structure(structure).fractional)
        out["bulk_modulus"] = EV_PER_A3_TO_GPA * a**2 * curvature / (9.0 * volume)
    return out, ok, checks


def _run(potential, params: Params, structure: str, guess, elastic: bool) -> dict:
    potential = get_potential(potential)
    out, ok, checks = _program(potential, structure, params, *_setup(potential, params, structure, guess),
                               elastic=elastic)
    if not _is_traced(ok) and not bool(ok):  # concrete: say what failed (traced: the results are NaN)
        converged, covered = (bool(c) for c in checks)
        what = (f"the Newton steps did not reach a minimum to {TOLERANCE:g} relative within {MAX_STEPS} steps"
                if not converged else
                f"the cell is compressed beyond the neighbour list's range ({RANGE_MARGIN} x cutoff)")
        raise EquilibriumError(f"{potential.name} {structure}: {what} (a = {float(out['lattice_constant'])} Å); "
                               "pass a closer guess")
    return out


def equilibrium_lattice_constant(potential: str | Potential, params: Params, structure: str = "diamond",
                                 guess=None) -> Array:
    """Lattice constant a0 in Å at zero pressure (for β-Sn with c relaxed too; see :func:`equilibrium`).

    Args:
        potential: a name (``"sw"``, ``"edip"``, ``"tersoff"``) or a :class:`~ffdiff.potentials.Potential`.
        params: parameter pytree; ``jax.grad`` reaches every leaf by implicit differentiation.
        structure: one of :data:`STRUCTURES` (``"diamond"``, ``"beta_sn"``, ``"fcc"``, ``"bcc"``, ``"sc"``).
        guess: starting a in Å (β-Sn: a, or (a, c)); default: a scan (see the module docstring).

    Raises:
        EquilibriumError: no converged minimum, or the list does not cover it (NaN instead when traced).
    """
    return equilibrium(potential, params, structure, guess)["lattice_constant"]


def equilibrium(potential: str | Potential, params: Params, structure: str = "diamond", guess=None) -> dict:
    """The zero-pressure crystal: every entry differentiable in ``params``.

    Returns:
        ``{"lattice_constant": a0 (Å), "energy_per_atom": eV/atom, "bulk_modulus": GPa}``, and ``"c"`` (Å)
        for β-Sn. The bulk modulus is B = V d²E/dV² = a0² e''(a0) / (9 v) (v the volume per atom) for the
        cubic cells, and the Reuss bound 1 / Σ_{i,j≤3} S_ij of the relaxed elastic constants (the response
        to hydrostatic pressure with c/a relaxed) for β-Sn.
    """
    return _run(potential, params, structure, guess, elastic=False)


def relaxed_elastic_constants(potential: str | Potential, params: Params, structure: str = "diamond",
                              guess=None) -> dict[str, Array]:
    """:func:`~ffdiff.properties.elastic.elastic_constants` (``born``, ``relaxation``, ``relaxed``, each `[6, 6]`
    GPa) of ``structure`` at the potential's own zero-pressure cell, differentiable through it; plus
    ``"lattice_constant"`` (Å)."""
    return _run(potential, params, structure, guess, elastic=True)
