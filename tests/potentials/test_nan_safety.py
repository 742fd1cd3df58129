"""No NaN for padding at distance 0, isolated atoms, or a single atom in a box."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff import get_potential, neighbor_list
from ffdiff.properties.static import energy_forces_stress, to_voigt

CASES = {
    # (positions, box, pbc): every case carries padded edges, which sit at distance 0.
    "single_atom_big_box": ([[1.0, 2.0, 3.0]], np.eye(3) * 20.0, True),
    "single_atom_small_box": ([[0.3, 0.2, 0.1]], np.eye(3) * 2.6, True),  # its own images bond
    "isolated_pair": ([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]], np.eye(3) * 30.0, False),
    "dimer": ([[0.0, 0.0, 0.0], [2.3, 0.1, 0.0]], np.eye(3) * 30.0, True),
}
# Every case's list at one capacity (the most listed: SW's single atom in the small box, 18 edges and
# 153 triplets), so that the cases with as many atoms share one compiled program per potential.
CAPACITY = (32, 192)


@functools.partial(jax.jit, static_argnums=0)  # compiled, as every caller runs it
def _summary_and_gradient(name, params, position, box, nbrs):
    """E + Σ|F|² + Σ stress (Voigt) and its gradient in the parameters and positions."""
    potential = get_potential(name)

    def summary(params, position):
        e, f, s = energy_forces_stress(potential.energy, params, position, box, nbrs)
        return e + jnp.sum(f**2) + jnp.sum(to_voigt(s))

    return jax.value_and_grad(summary, argnums=(0, 1))(params, position)


@pytest.mark.parametrize("name", ["sw", "edip", "tersoff"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_finite_values_and_gradients(name, case):
    position, box, pbc = CASES[case]
    position, box = jnp.asarray(position, dtype=float), jnp.asarray(box)
    potential = get_potential(name)
    params = potential.params()
    nbrs = neighbor_list(position, box, potential.cutoff(params), pbc=(pbc,) * 3, capacity=CAPACITY)
    assert nbrs.capacity[0] > nbrs.n_edges  # padding present

    value, (d_params, d_pos) = _summary_and_gradient(name, params, position, box, nbrs)
    assert np.isfinite(value)
    assert all(np.isfinite(v) for v in d_params.values()), d_params
    assert np.all(np.isfinite(d_pos))
    if case == "isolated_pair":
        assert value == 0.0
