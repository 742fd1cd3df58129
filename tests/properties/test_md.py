"""MD: velocity Verlet against LAMMPS `fix nve`, energy conservation, the Nosé–Hoover chain, the chunked
host driver, and gradients of an RDF loss through a trajectory against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import diamond, rattled
from ffdiff import get_potential, neighbor_list
from ffdiff.neighbors import needs_update, update
from ffdiff.properties import md
from ffdiff.properties.rdf import rdf_mse, smooth_rdf

SW = get_potential("sw")


def _setup(potential, atoms, temperature_K, seed, skin=1.0):
    pot = get_potential(potential)
    params = pot.params()
    box = jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(atoms.positions, box, pot.cutoff(params), skin=skin)
    state = md.init_state(pot.energy, params, jnp.asarray(atoms.positions), box, nbrs,
                          temperature_K=temperature_K, key=jax.random.PRNGKey(seed))
    return pot, params, box, nbrs, state


def test_init_state_temperature_and_momentum():
    _, _, _, _, state = _setup("sw", diamond(repeat=2), 700.0, seed=0)
    assert float(md.temperature(state)) == pytest.approx(700.0, rel=1e-12)
    momentum = np.sum(np.asarray(state.mass)[:, None] * np.asarray(state.velocity), axis=0)
    np.testing.assert_allclose(momentum, 0.0, atol=1e-12)  # amu·Å/fs


def test_nve_matches_lammps():
    """100 steps of 1 fs from the same rattled 64-atom cell and velocities as LAMMPS `fix nve` with
    `pair_style sw`: positions within 1e-8 Å, velocities within 1e-10 Å/fs.

    LAMMPS's metal unit factor (mvv2e = 1.0364269e-4 amu·Å²/ps² per eV) differs from ASE's CODATA
    value by 5e-8 relative, which alone moves positions by ~5e-8 Å over this run; the LAMMPS mass is
    scaled by that ratio so only the integrators are compared (measured: 1e-14 Å, 5e-16 Å/fs).
    """
    from ffdiff.interop.lammps import _per_atom, _session

    atoms = rattled(diamond(repeat=2), 0.05, seed=3)
    pot, params, box, nbrs, state0 = _setup("sw", atoms, 600.0, seed=0, skin=1.1)
    final, positions = jax.jit(lambda s: md.simulate(pot.energy, params, s, box, nbrs, n_steps=100, dt=1.0))(state0)
    assert not bool(needs_update(nbrs, positions))  # max over all frames: the list stayed valid
    n = len(atoms)
    with _session(atoms, "sw", {k: float(v) for k, v in params.items()}) as lmp:
        lmp.command(f"mass 1 {28.0855 * md.MVV2E / 103.64269!r}")
        v = lmp.numpy.extract_atom("v")
        v[:n] = np.asarray(state0.velocity)[lmp.numpy.extract_atom("id")[:n] - 1] * 1000.0  # Å/ps
        lmp.commands_list(["timestep 0.001", "fix 1 all nve", "run 100"])
        x_lammps, v_lammps = _per_atom(lmp, "x", n), _per_atom(lmp, "v", n) / 1000.0
    frac = (x_lammps - np.asarray(final.position)) @ np.linalg.inv(atoms.cell.array)
    dx = (frac - np.round(frac)) @ atoms.cell.array  # LAMMPS wraps into the cell, ffdiff does not
    assert np.abs(np.asarray(final.position) - atoms.positions).max() > 0.2  # atoms really moved
    assert np.abs(dx).max() <= 1e-8
    assert np.abs(v_lammps - np.asarray(final.velocity)).max() <= 1e-10


def test_nve_energy_conservation_edip():
    """EDIP, 64 atoms started at 1200 K (about 830 K once equilibrated), 500 steps of 1 fs: the linear drift
    of the total energy over the run is below 2e-5 eV/atom and its peak-to-peak fluctuation below 3e-4
    eV/atom (measured 2e-6 and 8.8e-5)."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    pot, params, box, nbrs, state0 = _setup("edip", atoms, 1200.0, seed=0, skin=1.1)
    _, (energy, stale) = jax.jit(lambda s: md.simulate(
        pot.energy, params, s, box, nbrs, n_steps=500, dt=1.0,
        observe=lambda s: (md.conserved_energy(s), needs_update(nbrs, s.position))))(state0)
    energy = np.asarray(energy) / len(atoms)
    assert not np.asarray(stale).any()
    slope = np.polyfit(np.arange(energy.size), energy, 1)[0]
    assert abs(slope) * energy.size < 2e-5
    assert np.ptp(energy) < 3e-4


def test_nvt_temperature_and_invariant():
    """SW, 64 atoms, target 600 K, tau 50 fs, 2000 steps from 300 K: the mean temperature of the last
    1500 steps is within 4 % of the target, and the Nosé–Hoover invariant varies by under 2 % of the
    energy the thermostat put in (measured 1.7 % and 0.4 %)."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    pot, params, box, nbrs, state0 = _setup("sw", atoms, 300.0, seed=0, skin=1.1)

    def observe(s):
        return md.temperature(s), md.conserved_energy(s), md.conserved_energy(s, temperature_K=600.0, tau=50.0), \
            needs_update(nbrs, s.position)

    _, (t, total, invariant, stale) = jax.jit(lambda s: md.simulate(
        pot.energy, params, s, box, nbrs, n_steps=2000, dt=1.0, ensemble="nvt", temperature_K=600.0, tau=50.0,
        observe=observe))(state0)
    assert not np.asarray(stale).any()
    assert float(np.mean(t[500:])) == pytest.approx(600.0, rel=0.04)
    heat = float(total[-1] - total[0])
    assert heat > 1.0  # eV: the thermostat did heat the cell, so the invariant test has teeth
    assert float(np.ptp(invariant)) < 0.02 * heat


def _kw():
    return dict(cutoff=SW.cutoff(SW.params()), ensemble="nve", seed=3, progress=False)


def test_run_md_matches_single_simulate():
    """No rebuild needed: three chunks equal one `simulate` call to 1e-12 Å at every step."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    params = SW.params()
    out = md.run_md(SW.energy, params, atoms.positions, atoms.cell.array, n_steps=60, chunk=20, record_every=1,
                    skin=2.0, temperature_K=300.0, **_kw())
    assert out["stable"] and out["n_rebuilds"] == 0 and out["n_steps_done"] == 60
    _, _, box, nbrs, state0 = _setup("sw", atoms, 300.0, seed=3, skin=2.0)
    _, positions = jax.jit(lambda s: md.simulate(SW.energy, params, s, box, nbrs, n_steps=60, dt=1.0))(state0)
    np.testing.assert_allclose(out["positions"][1:], np.asarray(positions), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["positions"][0], atoms.positions, rtol=0, atol=0)
    assert np.ptp(out["total_energy"]) < 1e-3 * len(atoms)


@pytest.mark.parametrize("headroom", [1.25, 1.0])
def test_run_md_with_rebuilds_matches_reference(monkeypatch, caplog, headroom):
    """1500 K with a 0.4 Å skin and 12-step chunks: the list is rebuilt inside the compiled chunk wherever
    it went stale, on one compiled program and one host-built list; the frames agree to 1e-9 Å with a
    reference that rebuilds every 4 steps on the host (only summation order differs). Sized without
    head room, a rebuilt list outgrows its capacity: the host allocates a larger one (a recompilation
    each time) and the frames still agree."""
    import functools

    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    params = SW.params()
    builds = []
    build = functools.partial(md.neighbor_list, capacity_multiplier=headroom)
    monkeypatch.setattr(md, "neighbor_list", lambda *a, **k: builds.append(1) or build(*a, **k))
    md._chunk.clear_cache()
    with caplog.at_level("INFO", logger="ffdiff.properties.md"):
        out = md.run_md(SW.energy, params, atoms.positions, atoms.cell.array, n_steps=118, chunk=12,
                        record_every=4, skin=0.4, temperature_K=1500.0, **_kw())
    assert out["stable"] and out["n_rebuilds"] >= 2 and out["n_steps_done"] == 118
    reallocated = caplog.text.count("outgrew its capacity")
    assert (reallocated > 0) is (headroom == 1.0)
    # a short last chunk and mid-chunk stops compile nothing new; only a larger list does
    assert len(builds) == md._chunk._cache_size() == 1 + reallocated

    _, _, box, nbrs, state = _setup("sw", atoms, 1500.0, seed=3, skin=0.4)
    run = jax.jit(lambda s, nb: md.simulate(SW.energy, params, s, box, nb, n_steps=4, dt=1.0,
                                            observe=lambda s: needs_update(nb, s.position)))
    reference = [np.asarray(state.position)]
    for _ in range(30):
        nbrs = update(nbrs, np.asarray(state.position), np.asarray(box))
        state, stale = run(state, nbrs)
        assert not np.asarray(stale).any()
        reference.append(np.asarray(state.position))
    assert np.abs(reference[-1] - reference[0]).max() > 0.2  # beyond skin / 2: one list would have gone stale
    np.testing.assert_allclose(out["positions"], np.stack(reference)[:30], rtol=0, atol=1e-9)


def test_run_md_in_float32_rebuilds_its_list_and_conserves_energy():
    """float32 positions give a float32 run (state, frames and the lists it rebuilds inside its loop:
    one list type through the loop), which conserves its NVE energy to 1e-3 eV/atom over 120 steps at
    1500 K with a 0.4 Å skin."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    params = jax.tree.map(lambda x: x.astype(np.float32), SW.params())
    out = md.run_md(SW.energy, params, atoms.positions.astype(np.float32), atoms.cell.array.astype(np.float32),
                    n_steps=120, chunk=20, record_every=10, skin=0.4, temperature_K=1500.0, **_kw())
    assert out["stable"] and out["n_rebuilds"] >= 1 and out["n_steps_done"] == 120
    assert out["positions"].dtype == np.float32
    assert np.ptp(out["total_energy"]) < 1e-3 * len(atoms)


def _no_head_room(monkeypatch):
    """Every list ``run_md`` builds gets a short list without head room; its re-allocations after an
    overflow keep the driver's (2.0 for SW and EDIP), so one or two of them suffice."""
    build = md.neighbor_list
    monkeypatch.setattr(md, "neighbor_list", lambda *a, **k: build(*a, **{**k, "short_multiplier": 1.0}))


def test_run_md_reallocates_an_overflowing_short_list(monkeypatch, caplog):
    """A short list sized for the perfect crystal (4 neighbours inside the SW cutoff per atom, no head
    room) overflows once heat pulls the second shell in; the driver re-allocates it, re-runs the chunk,
    and every frame equals one `simulate` over the full list to 1e-9 Å."""
    atoms = diamond()
    params = SW.params()
    _no_head_room(monkeypatch)
    with caplog.at_level("INFO", logger="ffdiff.properties.md"):
        out = md.run_md(SW.energy, params, atoms.positions, atoms.cell.array, n_steps=40, chunk=20, record_every=1,
                        skin=1.0, temperature_K=1500.0, **_kw())
    assert "short neighbour list overflowed" in caplog.text
    assert out["stable"] and out["n_steps_done"] == 40
    _, _, box, nbrs, state0 = _setup("sw", atoms, 1500.0, seed=3, skin=2.0)
    _, positions = jax.jit(lambda s: md.simulate(SW.energy, params, s, box, nbrs, n_steps=40, dt=1.0))(state0)
    np.testing.assert_allclose(out["positions"][1:], np.asarray(positions), rtol=0, atol=1e-9)


def test_run_md_reports_explosions():
    """Atoms 0.5 Å apart fail at step 0; a 30 fs step at 1500 K fails at step 1; neither raises."""
    atoms = rattled(diamond(repeat=2), 0.05, seed=1)
    close = atoms.positions.copy()
    close[1] = close[0] + [0.5, 0.0, 0.0]
    out = md.run_md(SW.energy, SW.params(), close, atoms.cell.array, n_steps=10, temperature_K=300.0, **_kw())
    assert not out["stable"] and out["failed_step"] == 0 and out["n_steps_done"] == 0
    out = md.run_md(SW.energy, SW.params(), atoms.positions, atoms.cell.array, n_steps=100, dt=30.0, chunk=20,
                    temperature_K=1500.0, **_kw())
    assert not out["stable"] and out["failed_step"] == 1 and out["n_steps_done"] == 0


# --- gradients through a trajectory ---------------------------------------------------------------

GRID = jnp.linspace(2.0, 4.5, 26)


def _rdf_loss_fn(remat: bool):
    atoms = rattled(diamond(repeat=2), 0.1, seed=5)
    box = jnp.asarray(atoms.cell.array)
    nbrs = neighbor_list(atoms.positions, box, SW.cutoff(SW.params()), skin=1.0)
    g_ref = jnp.ones_like(GRID)  # any fixed target: the test is about the derivative

    def loss(x):  # x = (epsilon, lam)
        params = {**SW.params(), "epsilon": x[0], "lam": x[1]}
        state = md.init_state(SW.energy, params, jnp.asarray(atoms.positions), box, nbrs, temperature_K=1200.0,
                              key=jax.random.PRNGKey(1))
        _, positions = md.simulate(SW.energy, params, state, box, nbrs, n_steps=20, dt=1.0, remat=remat)
        return rdf_mse(smooth_rdf(positions[-5:], box, GRID, sigma=0.1), g_ref)

    return loss


@pytest.fixture(scope="module")
def trajectory_gradients():
    x = jnp.array([2.16826, 21.0])
    return x, {remat: jax.jit(jax.grad(_rdf_loss_fn(remat)))(x) for remat in (True, False)}


def test_gradient_through_md_matches_finite_differences(trajectory_gradients):
    """d(RDF MSE after 20 SW steps)/d(epsilon, lam) against central differences: rel <= 1e-5."""
    x, grads = trajectory_gradients
    loss = jax.jit(_rdf_loss_fn(True))
    for k, h in enumerate((1e-5, 1e-4)):
        bump = jnp.zeros(2).at[k].set(h)
        fd = (loss(x + bump) - loss(x - bump)) / (2 * h)
        assert abs(float(fd)) > 1e-6  # a parameter the loss really depends on
        assert float(grads[True][k]) == pytest.approx(float(fd), rel=1e-5)


def test_remat_does_not_change_gradients(trajectory_gradients):
    """jax.checkpoint only changes what is stored for the backward pass: same gradients to 1e-12."""
    _, grads = trajectory_gradients
    np.testing.assert_allclose(np.asarray(grads[True]), np.asarray(grads[False]), rtol=1e-12, atol=0)


def test_run_md_edip_on_short_triplets_reallocates_and_matches_full_list(monkeypatch, caplog):
    """EDIP from a crystal rattled by 0.1 Å at 3000 K with a 1 Å skin runs on the short list's triplets,
    sized for the start without head room: atoms that come inside a = 3.12 Å overflow its slots or triplets, the
    driver re-allocates, and every frame equals one `simulate` over the full triplet list to 1e-9 Å."""
    edip = get_potential("edip")
    atoms = rattled(diamond(repeat=2), 0.1, seed=2)
    params = edip.params()
    _no_head_room(monkeypatch)
    with caplog.at_level("INFO", logger="ffdiff.properties.md"):
        out = md.run_md(edip.energy, params, atoms.positions, atoms.cell.array, n_steps=60, chunk=20,
                        record_every=1, skin=1.0, temperature_K=3000.0, cutoff=edip.cutoff(params), ensemble="nve",
                        seed=3, progress=False)
    assert "short neighbour list overflowed" in caplog.text
    assert out["stable"] and out["n_steps_done"] == 60 and out["n_rebuilds"] >= 1
    box = jnp.asarray(atoms.cell.array)
    full = neighbor_list(atoms.positions, box, edip.cutoff(params), skin=3.0)  # valid for the whole run
    state0 = md.init_state(edip.energy, params, jnp.asarray(atoms.positions), box, full, temperature_K=3000.0,
                           key=jax.random.PRNGKey(3))
    _, positions = jax.jit(lambda s: md.simulate(edip.energy, params, s, box, full, n_steps=60, dt=1.0))(state0)
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
    out = md.run_md(gnn.energy, params, atoms.positions, atoms.cell.array, cutoff=gnn.config.cutoff, n_steps=50,
                    chunk=25, record_every=1, skin=1.0, temperature_K=300.0, ensemble="nve", seed=3, three_body=False,
                    progress=False)
    box = jnp.asarray(atoms.cell.array)
    full = neighbor_list(atoms.positions, box, gnn.config.cutoff, skin=3.0, triplets=False)
    assert out["stable"] and out["n_steps_done"] == 50
    assert 0 < out["short_capacity"] < 0.5 * full.n_edges and full.short_capacity == 0
    state0 = md.init_state(gnn.energy, params, jnp.asarray(atoms.positions), box, full, temperature_K=300.0,
                           key=jax.random.PRNGKey(3))
    _, positions = jax.jit(lambda s: md.simulate(gnn.energy, params, s, box, full, n_steps=50, dt=1.0))(state0)
    assert not bool(needs_update(full, positions))
    assert np.abs(np.asarray(positions[-1]) - atoms.positions).max() > 0.1  # atoms really moved
    np.testing.assert_allclose(out["positions"][1:], np.asarray(positions), rtol=0, atol=1e-10)
