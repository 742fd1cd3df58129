"""jax.grad through energy, Σ|F|² and stress reaches every parameter and equals finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff import get_potential, neighbor_list
from ffdiff.properties.static import energy_forces_stress, to_voigt


def _observables(potential, position, box, nbrs):
    def fn(params):
        e, f, s = energy_forces_stress(potential.energy, params, position, box, nbrs)
        return jnp.concatenate([e[None], jnp.sum(f**2)[None], to_voigt(s)])

    return fn


def _richardson(fn, params, key, h):
    """Central difference extrapolated from steps h and h/2: error O(h^4)."""

    def central(step):
        return (fn({**params, key: params[key] + step}) - fn({**params, key: params[key] - step})) / (2 * step)

    return (4 * central(h / 2) - central(h)) / 3


@pytest.mark.parametrize("name", ["sw", "edip", "tersoff"])
@pytest.mark.parametrize("structure", ["rattled0.15", "liquid64"])
def test_parameter_gradients(structures, name, structure):
    potential = get_potential(name)
    params = potential.params()
    atoms = structures[structure]
    position, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    # The skin keeps pairs near the cutoff listed while finite differences move the cutoff itself.
    nbrs = neighbor_list(position, box, potential.cutoff(params), skin=0.3)
    fn = _observables(potential, position, box, nbrs)
    jac = jax.jit(jax.jacrev(fn))(params)
    fn = jax.jit(fn)
    for key, value in params.items():
        ad = np.asarray(jac[key])
        assert np.all(np.isfinite(ad)), key
        # EDIP's f(r) is only C² at r = c (f ≈ 1 - αx³): steps must stay below the distance of
        # any pair from c (1e-5 Å in the liquid), so they are small and extrapolated.
        fd = np.asarray(_richardson(fn, params, key, 1e-6 * max(abs(float(value)), 1.0)))
        rel = np.abs(ad - fd) / np.maximum(np.abs(fd), 1e-12)
        # Rows: energy, Σ|F|², stress xx yy zz yz xz xy.
        assert rel.max() <= 1e-6, f"{key}: relative error {rel}"
