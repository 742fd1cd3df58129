"""One overflow idiom: every potential evaluated on a short list that is one slot too small gives a
NaN energy and NaN forces (never a sum short of terms) through ``guard``; a host build with fixed
capacities that are too small raises, naming what it needed."""

import ast
import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

from ffdiff import get_potential
from ffdiff.exceptions import NeighborListOverflowError
from ffdiff.neighbors import check_room, guard, neighbor_list, short_overflow
from ffdiff.potentials import graph_network, mpgnn

POTENTIALS = Path(__file__).resolve().parents[2] / "src/ffdiff/potentials"
_short_overflow = jax.jit(short_overflow)  # one compilation per list, not one per operation and shape


def _classical(name):
    potential = get_potential(name)
    params = potential.params()
    return potential.energy, params, potential.cutoff(params), potential.triplets


def _network(module, config):
    params = module.init_params(jax.random.key(0), config)
    return (lambda p, x, b, n: module.energy(p, x, b, n, config)), params, config.cutoff, False


CASES = {
    "sw": lambda: _classical("sw"),
    "edip": lambda: _classical("edip"),
    "tersoff": lambda: _classical("tersoff"),
    # small networks: the guard does not depend on the width, the compile time does
    "mpgnn": lambda: _network(mpgnn, mpgnn.MPGNNConfig(n_basis=4, features=8, n_steps=1, hidden=8)),
    "graph_network": lambda: _network(graph_network, graph_network.EnergyGraphNetConfig(n_recurrences=1,
                                                                                       mlp_sizes=(8,))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_potential_is_nan_on_a_short_list_one_slot_short(name):
    energy, params, cutoff, triplets = CASES[name]()
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    atoms.positions += np.random.default_rng(3).normal(scale=0.1, size=atoms.positions.shape)
    x, box = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell.array)
    fitted = neighbor_list(atoms.positions, atoms.cell.array, cutoff, skin=1.0, triplets=triplets,
                           short=True, short_multiplier=1.5)
    value_and_grad = jax.jit(jax.value_and_grad(energy, argnums=1))  # compiled, as every caller runs it
    needed, over = _short_overflow(fitted, x, box)
    assert fitted.short_capacity and not bool(over)
    value, forces = value_and_grad(params, x, box, fitted)
    assert np.isfinite(float(value)) and np.isfinite(np.asarray(forces)).all()
    tight = dataclasses.replace(fitted, short_capacity=int(needed[0]) - 1)
    assert bool(_short_overflow(tight, x, box)[1])
    value, forces = value_and_grad(params, x, box, tight)
    assert np.isnan(float(value)) and np.isnan(np.asarray(forces)).all()


def test_guard_poisons_value_and_gradient():
    f = lambda x, over: guard(jnp.sum(x**2), over)  # noqa: E731
    x = jnp.arange(3.0)
    assert float(f(x, False)) == 5.0 and np.isfinite(np.asarray(jax.grad(f)(x, False))).all()
    assert np.isnan(float(f(x, True))) and np.isnan(np.asarray(jax.grad(f)(x, True))).all()


def test_check_room_names_what_did_not_fit():
    check_room("neighbour list", {"edges": 10}, {"edges": 10}, "capacity=None")
    with pytest.raises(NeighborListOverflowError, match=r"needs 11 edges and 3 triplets, allocated 10 and 3; "
                                                        r"re-allocate with capacity=None"):
        check_room("neighbour list", {"edges": 11, "triplets": 3}, {"edges": 10, "triplets": 3}, "capacity=None")


def test_no_potential_writes_its_own_overflow_guard():
    """The NaN factor lives in ffdiff.neighbors.guard only; potentials go through on_short_list."""
    for path in POTENTIALS.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "nan" not in names, f"{path.name} builds a NaN itself"
        assert "short_list" not in calls, f"{path.name} evaluates a short list without on_short_list"
