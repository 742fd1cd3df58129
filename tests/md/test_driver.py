"""MD trajectories and the chunked host driver: gradients of an RDF loss through a trajectory against
finite differences, and run_md (list rebuilds and re-allocations, float32, failures) against simulate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import diamond, md_settings, md_start, rattled
from ffdiff import get_potential, neighbor_list
from ffdiff.md import driver, lists
from ffdiff.md.driver import run_md, simulate
from ffdiff.md.integrators import init_state
from ffdiff.neighbors import needs_update, update
from ffdiff.properties.rdf import rdf_mse, smooth_rdf

SW = get_potential("sw")


# --- gradients through a trajectory ---------------------------------------------------------------

GRID = jnp.linspace(2.0, 4.5, 26)


def _rdf_loss_fn(remat: bool):
    atoms = rattled(diamond(repeat=2), 0.1, seed=5)
    box = jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(atoms.positions, box, SW.cutoff(SW.params()), skin=1.0)
    g_ref = jnp.ones_like(GRID)  # any fixed target: the test is about the derivative

    def loss(x):  # x = (epsilon, lam)
        params = {**SW.params(), "epsilon": x[0], "lam": x[1]}
        state = init_state(SW.energy, params, jnp.asarray(atoms.positions), box, nbrs, temperature_K=1200.0,
                              key=jax.random.PRNGKey(1))
        _, positions = simulate(SW.energy, params, state, box, nbrs, md_settings(20), remat=remat)
        return rdf_mse(smooth_rdf(positions[-5:], box, GRID, sigma=0.1), g_ref)

    return loss


@pytest.fixture(scope="module")
def trajectory_gradients():
    """(x, the compiled value and gradient of the loss with and without remat, their gradients at x)."""
    x = jnp.array([2.16826, 21.0])
    programs = {remat: jax.jit(jax.value_and_grad(_rdf_loss_fn(remat))) for remat in (True, False)}
    return x, programs, {remat: program(x)[1] for remat, program in programs.items()}


def test_gradient_through_md_matches_finite_differences(trajectory_gradients):
    """d(RDF MSE after 20 SW steps)/d(epsilon, lam) against central differences: rel <= 1e-5."""
    x, programs, grads = trajectory_gradients

    def loss(y):  # the values of the program that gives the gradient (a value-only one would compile anew)
        return programs[True](y)[0]

    for k, h in enumerate((1e-5, 1e-4)):
        bump = jnp.zeros(2).at[k].set(h)
        fd = (loss(x + bump) - loss(x - bump)) / (2 * h)
        assert abs(float(fd)) > 1e-6  # a parameter the loss really depends on
        assert float(grads[True][k]) == pytest.approx(float(fd), rel=1e-5)


def test_remat_does_not_change_gradients(trajectory_gradients):
    """jax.checkpoint only changes what is stored for the backward pass: same gradients to 1e-12."""
    *_, grads = trajectory_gradients
    np.testing.assert_allclose(np.asarray(grads[True]), np.asarray(grads[False]), rtol=1e-12, atol=0)


def _kw():
    return dict(cutoff=SW.cutoff(SW.params()), seed=3, progress=False)


def _simulated(energy_fn, params, atoms, nbrs, temperature_K, n_steps):
    """`[n_steps]` positions of one `simulate` on ``nbrs`` from ``atoms`` with run_md's velocities (seed 3)
    at ``temperature_K``; the start state and the run are one compiled program."""
    box = jnp.asarray(atoms.cell.array)

    def run(position):
        state = init_state(energy_fn, params, position, box, nbrs, temperature_K=temperature_K,
                           key=jax.random.PRNGKey(3))
        return simulate(energy_fn, params, state, box, nbrs, md_settings(n_steps))[1]

    return jax.jit(run)(jnp.asarray(atoms.positions))


def test_run_md_matches_single_simulate():
    """No rebuild needed: three chunks equal one `simulate` call to 1e-12 Å at every step."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    params = SW.params()
    # atoms move 0.23 Å at most, within half the 1 Å skin; the list, chunk length and start are those of
    # test_run_md_reports_explosions' second run, so the two share one compiled chunk
    out = run_md(SW.energy, params, atoms.positions, atoms.cell.array, md_settings(60), chunk=20, skin=1.0,
                 **_kw())
    assert out["stable"] and out["n_rebuilds"] == 0 and out["n_steps_done"] == 60
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(params), skin=2.0)
    positions = _simulated(SW.energy, params, atoms, nbrs, 300.0, 60)
    np.testing.assert_allclose(out["positions"][1:], np.asarray(positions), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["positions"][0], atoms.positions, rtol=0, atol=0)
    assert np.ptp(out["total_energy"]) < 1e-3 * len(atoms)


def test_run_md_reports_explosions():
    """Atoms 0.5 Å apart fail at step 0; a 30 fs step at 1500 K fails at step 1; neither raises."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    close = atoms.positions.copy()
    close[1] = close[0] + [0.5, 0.0, 0.0]
    out = run_md(SW.energy, SW.params(), close, atoms.cell.array, md_settings(10, record_every=10), **_kw())
    assert not out["stable"] and out["failed_step"] == 0 and out["n_steps_done"] == 0
    # until its short list overflows, the compiled chunk of test_run_md_matches_single_simulate
    out = run_md(SW.energy, SW.params(), atoms.positions, atoms.cell.array,
                 md_settings(100, timestep_fs=30.0, temperature_K=1500.0, record_every=10), chunk=20, skin=1.0,
                 **_kw())
    assert not out["stable"] and out["failed_step"] == 1 and out["n_steps_done"] == 0


@pytest.fixture(scope="module")
def rebuilt_reference():
    """Frames every 4 steps of SW at 1500 K from the rattled crystal (velocities of seed 3), the list
    rebuilt on the host before every 4 steps, and whether any of those lists went stale: the reference
    of both cases below."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    params = SW.params()
    _, _, box, nbrs, state = md_start("sw", atoms, 1500.0, seed=3, skin=0.4)
    run = jax.jit(lambda s, nb: simulate(SW.energy, params, s, box, nb, md_settings(4),
                                            observe=lambda s: needs_update(nb, s.position)))
    reference, stale = [np.asarray(state.position)], False
    for _ in range(30):
        nbrs = update(nbrs, np.asarray(state.position), np.asarray(box))
        state, went_stale = run(state, nbrs)
        stale |= bool(np.asarray(went_stale).any())
        reference.append(np.asarray(state.position))
    return np.stack(reference), stale


@pytest.mark.parametrize("headroom", [1.25, 1.0])
def test_run_md_with_rebuilds_matches_reference(monkeypatch, caplog, rebuilt_reference, headroom):
    """1500 K with a 0.4 Å skin and 12-step chunks: the list is rebuilt inside the compiled chunk wherever
    it went stale, on one compiled program and one host-built list; the frames agree to 1e-9 Å with a
    reference that rebuilds every 4 steps on the host (only summation order differs). Started on a list
    sized without head room, a rebuilt list outgrows its capacity: the host allocates a larger one (one
    recompilation per allocation) and the frames still agree."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    params = SW.params()
    builds = []
    build = lists.neighbor_list

    def counted(*a, **k):  # the first list with ``headroom``; a re-allocation sizes its list as the driver does
        builds.append(1)
        return build(*a, **k, **({"capacity_multiplier": headroom} if len(builds) == 1 else {}))

    monkeypatch.setattr(lists, "neighbor_list", counted)
    driver._chunk.clear_cache()
    with caplog.at_level("INFO", logger="ffdiff.md.driver"):
        out = run_md(SW.energy, params, atoms.positions, atoms.cell.array, md_settings(118, temperature_K=1500.0, record_every=4), chunk=12, skin=0.4, **_kw())
    assert out["stable"] and out["n_rebuilds"] >= 2 and out["n_steps_done"] == 118
    reallocated = caplog.text.count("outgrew its capacity")
    assert (reallocated > 0) is (headroom == 1.0)
    # a short last chunk and mid-chunk stops compile nothing new; only a larger list does
    assert len(builds) == driver._chunk._cache_size() == 1 + reallocated

    reference, stale = rebuilt_reference
    assert not stale
    assert np.abs(reference[-1] - reference[0]).max() > 0.2  # beyond skin / 2: one list would have gone stale
    np.testing.assert_allclose(out["positions"], reference[:30], rtol=0, atol=1e-9)


def test_run_md_in_float32_rebuilds_its_list_and_conserves_energy():
    """float32 positions give a float32 run (state, frames and the lists it rebuilds inside its loop:
    one list type through the loop), which conserves its NVE energy to 1e-3 eV/atom over 120 steps at
    1500 K with a 0.4 Å skin."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    params = jax.tree.map(lambda x: x.astype(np.float32), SW.params())
    out = run_md(SW.energy, params, atoms.positions.astype(np.float32), atoms.cell.array.astype(np.float32),
                 md_settings(120, temperature_K=1500.0, record_every=10), chunk=20, skin=0.4, **_kw())
    assert out["stable"] and out["n_rebuilds"] >= 1 and out["n_steps_done"] == 120
    assert out["positions"].dtype == np.float32
    assert np.ptp(out["total_energy"]) < 1e-3 * len(atoms)


def _no_head_room(monkeypatch):
    """Every list ``run_md`` builds gets a short list without head room; its re-allocations after an
    overflow keep the driver's (2.0 for SW and EDIP), so one or two of them suffice."""
    build = lists.neighbor_list
    monkeypatch.setattr(lists, "neighbor_list", lambda *a, **k: build(*a, **{**k, "short_multiplier": 1.0}))


def test_run_md_reallocates_an_overflowing_short_list(monkeypatch, caplog):
    """A short list sized for the perfect crystal (4 neighbours inside the SW cutoff per atom, no head
    room) overflows once heat pulls the second shell in; the driver re-allocates it, re-runs the chunk,
    and every frame equals one `simulate` over the full list to 1e-9 Å."""
    atoms = diamond()
    params = SW.params()
    _no_head_room(monkeypatch)
    # it overflows at step 4, and the re-allocated list carries the run to its end (a run past step 8
    # would overflow it too, and only compile once more)
    with caplog.at_level("INFO", logger="ffdiff.md.driver"):
        out = run_md(SW.energy, params, atoms.positions, atoms.cell.array, md_settings(8, temperature_K=1500.0), chunk=20,
                     skin=1.0, **_kw())
    assert "short neighbour list overflowed" in caplog.text
    assert out["stable"] and out["n_steps_done"] == 8
    nbrs = neighbor_list(atoms.positions, atoms.cell.array, SW.cutoff(params), skin=2.0)
    positions = _simulated(SW.energy, params, atoms, nbrs, 1500.0, 8)
    np.testing.assert_allclose(out["positions"][1:], np.asarray(positions), rtol=0, atol=1e-9)


def test_run_md_edip_on_short_triplets_reallocates_and_matches_full_list(monkeypatch, caplog):
    """EDIP from a crystal rattled by 0.1 Å at 3000 K with a 1 Å skin runs on the short list's triplets,
    sized for the start without head room: atoms that come inside a = 3.12 Å overflow its slots or triplets, the
    driver re-allocates, and every frame equals one `simulate` over the full triplet list to 1e-9 Å."""
    edip = get_potential("edip")
    atoms = rattled(diamond(repeat=2), 0.1, seed=2)
    params = edip.params()
    _no_head_room(monkeypatch)
    with caplog.at_level("INFO", logger="ffdiff.md.driver"):
        out = run_md(edip.energy, params, atoms.positions, atoms.cell.array, md_settings(60, temperature_K=3000.0),
                     chunk=20, skin=1.0, cutoff=edip.cutoff(params), seed=3, progress=False)
    assert "short neighbour list overflowed" in caplog.text
    assert out["stable"] and out["n_steps_done"] == 60 and out["n_rebuilds"] >= 1
    full = neighbor_list(atoms.positions, atoms.cell.array, edip.cutoff(params), skin=3.0)  # valid for the whole run
    positions = _simulated(edip.energy, params, atoms, full, 3000.0, 60)
    assert not bool(needs_update(full, positions[-1]))
    np.testing.assert_allclose(out["positions"][1:], np.asarray(positions), rtol=0, atol=1e-9)


def test_run_md_pair_model_short_list_matches_full_list():
    """A pair model (a small MPGNN, random weights) runs on a short list of the pairs inside its cutoff
    (``PAIR_SHORT_MULTIPLIER`` head room); every frame of 50 steps at 300 K equals one `simulate` over a
    full list without a short list (valid for the whole run) to 1e-10 Å. (The driver's re-allocation
    after an overflow is tested with SW and EDIP above; the MPGNN's NaN on overflow in test_mpgnn.py.)"""
    from ffdiff.potentials.mpgnn import MPGNNConfig, potential

    gnn = potential(MPGNNConfig(n_basis=4, features=8, n_steps=2, hidden=16))
    params = gnn.params()
    atoms = rattled(diamond(repeat=2), 0.1, seed=2)
    out = run_md(gnn.energy, params, atoms.positions, atoms.cell.array, md_settings(50), cutoff=gnn.config.cutoff,
                 chunk=25, skin=1.0, seed=3, three_body=False, progress=False)
    full = neighbor_list(atoms.positions, atoms.cell.array, gnn.config.cutoff, skin=3.0, triplets=False)
    assert out["stable"] and out["n_steps_done"] == 50
    assert 0 < out["short_capacity"] < 0.5 * full.n_edges and full.short_capacity == 0
    positions = _simulated(gnn.energy, params, atoms, full, 300.0, 50)
    assert not bool(needs_update(full, positions))
    assert np.abs(np.asarray(positions[-1]) - atoms.positions).max() > 0.1  # atoms really moved
    np.testing.assert_allclose(out["positions"][1:], np.asarray(positions), rtol=0, atol=1e-10)
