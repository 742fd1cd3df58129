"""jax.grad through energy, Σ|F|² and stress reaches every parameter and equals finite differences."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff import get_potential, neighbor_list
from ffdiff.properties.static import energy_forces_stress, to_voigt

STRUCTURES = ["rattled0.15", "liquid64"]
SKIN = 0.3  # Å: keeps pairs near the cutoff listed while finite differences move the cutoff itself


def _observables(name, params, position, box, nbrs):
    e, f, s = energy_forces_stress(get_potential(name).energy, params, position, box, nbrs)
    return jnp.concatenate([e[None], jnp.sum(f**2)[None], to_voigt(s)])


# The structure is an argument: one compilation per potential serves every cell listed at one capacity.
_values = jax.jit(_observables, static_argnums=0)
_jacobian = jax.jit(jax.jacrev(_observables, argnums=1), static_argnums=0)


def _richardson(fn, params, key, h):
    """Central difference extrapolated from steps h and h/2: error O(h^4)."""

    def central(step):
        return (fn({**params, key: params[key] + step}) - fn({**params, key: params[key] - step})) / (2 * step)

    return (4 * central(h / 2) - central(h)) / 3


@pytest.fixture(scope="module")
def capacity(structures):
    """Per potential, the most edges and triplets any of the structures lists (the cells are listed at
    that capacity)."""
    out = {}
    for name in ("sw", "edip", "tersoff"):
        potential = get_potential(name)
        lists = [neighbor_list(structures[s].positions, structures[s].cell.array,
                               potential.cutoff(potential.params()), skin=SKIN) for s in STRUCTURES]
        out[name] = tuple(max(n.capacity[k] for n in lists) for k in range(2))
    return out


@pytest.mark.parametrize("name", ["sw", "edip", "tersoff"])
@pytest.mark.parametrize("structure", STRUCTURES)
def test_parameter_gradients(structures, capacity, name, structure):
    potential = get_potential(name)
    params = potential.params()
    atoms = structures[structure]
    position, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(position, box, potential.cutoff(params), skin=SKIN, capacity=capacity[name])
    jac = _jacobian(name, params, position, box, nbrs)
    fn = functools.partial(_values, name, position=position, box=box, nbrs=nbrs)
    for key, value in params.items():
        ad = np.asarray(jac[key])
        assert np.all(np.isfinite(ad)), key
        # EDIP's f(r) is only C² at r = c (f ≈ 1 - αx³): steps must stay below the distance of
        # any pair from c (1e-5 Å in the liquid), so they are small and extrapolated.
        fd = np.asarray(_richardson(fn, params, key, 1e-6 * max(abs(float(value)), 1.0)))
        rel = np.abs(ad - fd) / np.maximum(np.abs(fd), 1e-12)
        # Rows: energy, Σ|F|², stress xx yy zz yz xz xy.
        assert rel.max() <= 1e-6, f"{key}: relative error {rel}"
