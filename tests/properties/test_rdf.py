"""g(r): the numpy histogram against ASE, ideal gas and equivalent triclinic cells; the smooth JAX version
against the histogram and for finite gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase import Atoms
from ase.geometry.rdf import get_rdf

from ffdiff.properties.rdf import perpendicular_widths, rdf_histogram, rdf_mse, smooth_rdf

L = 11.0  # Å, cubic cell of the random configurations


def hard_spheres(n: int, length: float, r_min: float, seed: int) -> np.ndarray:
    """`[n, 3]` random positions no two closer than ``r_min`` (minimum image): a liquid-like g(r)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        trial = rng.random(3) * length
        d = np.asarray(out) - trial if out else np.zeros((0, 3))
        d -= length * np.round(d / length)
        if np.all(np.sum(d * d, axis=1) >= r_min**2):
            out.append(trial)
    return np.asarray(out)


@pytest.fixture(scope="module")
def liquid() -> np.ndarray:
    return np.stack([hard_spheres(80, L, 2.1, seed) for seed in range(3)])


def test_histogram_matches_ase(liquid):
    """ASE normalises by N² instead of N(N − 1); otherwise the same bins and shells (to 1e-12)."""
    n = liquid.shape[1]
    r, g = rdf_histogram(liquid, L * np.eye(3), r_max=5.0, n_bins=50)
    frames = [Atoms(f"Si{n}", positions=p, cell=L * np.eye(3), pbc=True) for p in liquid]
    g_ase, r_ase = get_rdf(frames, 5.0, 50)
    np.testing.assert_allclose(r, r_ase, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g, g_ase * n / (n - 1), rtol=1e-12, atol=1e-12)
    assert g[:8].max() == 0.0 and g.max() > 1.5  # hard core and a first peak: the test sees structure


def test_smooth_tends_to_histogram(liquid):
    """With sigma = 0.002 Å, g·4πr² integrated over a bin equals the histogram bin to within three pairs'
    weight (only pairs within a few sigma of a bin edge are split between bins; measured <= 0.9)."""
    r_max, n_bins = 5.0, 20
    n_frames, n = liquid.shape[:2]
    centres, g_hist = rdf_histogram(liquid, L * np.eye(3), r_max=r_max, n_bins=n_bins)
    edges = np.linspace(0.0, r_max, n_bins + 1)
    for k in (9, 12, 16):  # first peak, first dip, second shell
        fine = np.linspace(edges[k], edges[k + 1], 1001)
        g = np.asarray(smooth_rdf(jnp.asarray(liquid), jnp.asarray(L * np.eye(3)), jnp.asarray(fine), sigma=0.002))
        shell = 4 / 3 * np.pi * (edges[k + 1] ** 3 - edges[k] ** 3)
        binned = np.trapezoid(g * 4 * np.pi * fine**2, fine) / shell
        one_pair = 2 * L**3 / (n_frames * n * (n - 1) * shell)  # g of one unordered pair in this bin
        assert abs(binned - g_hist[k]) < 3 * one_pair, (k, centres[k], (binned - g_hist[k]) / one_pair)
    assert g_hist[9] > 40 * one_pair  # bins hold many pairs, so the tolerance is tight


def test_ideal_gas_is_one():
    """Uniform random points: every bin within 4 standard errors (Poisson) of 1."""
    rng = np.random.default_rng(7)
    n, frames = 400, 5
    positions = rng.random((frames, n, 3)) * L
    r, g = rdf_histogram(positions, L * np.eye(3), r_max=5.5, n_bins=11)
    shells = 4 / 3 * np.pi * np.diff(np.linspace(0, 5.5, 12) ** 3)
    expected_pairs = frames * n * (n - 1) * shells / L**3  # ordered pairs; each unordered pair counts twice
    np.testing.assert_array_less(np.abs(g - 1.0), 4.0 * np.sqrt(2.0 / expected_pairs))
    g_s = smooth_rdf(jnp.asarray(positions), jnp.asarray(L * np.eye(3)), jnp.asarray([2.0, 3.0, 4.0]), sigma=0.1)
    np.testing.assert_allclose(np.asarray(g_s), 1.0, atol=0.05)


def test_triclinic_cell_gives_same_rdf(liquid):
    """The cubic cell and a sheared basis of the same lattice (unimodular change) give identical g(r)."""
    cubic = L * np.eye(3)
    sheared = np.array([[1, 0, 0], [1, 1, 0], [-1, 1, 1]], dtype=float) @ cubic  # det 1: same lattice
    r_max = 0.5 * perpendicular_widths(sheared).min()
    assert r_max < 0.5 * L - 1.0  # the sheared cell is really narrower
    _, g_cubic = rdf_histogram(liquid, cubic, r_max=r_max, n_bins=30)
    _, g_sheared = rdf_histogram(liquid, sheared, r_max=r_max, n_bins=30)
    np.testing.assert_allclose(g_sheared, g_cubic, rtol=1e-12, atol=1e-12)
    grid = jnp.linspace(1.5, r_max - 0.7, 40)  # 7 sigma: tails of ambiguous far pairs < e^-24
    a = smooth_rdf(jnp.asarray(liquid), jnp.asarray(cubic), grid, sigma=0.1)
    b = smooth_rdf(jnp.asarray(liquid), jnp.asarray(sheared), grid, sigma=0.1)
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="perpendicular cell width"):
        rdf_histogram(liquid, sheared, r_max=r_max + 0.1, n_bins=30)
    with pytest.raises(ValueError, match="perpendicular cell width"):
        smooth_rdf(jnp.asarray(liquid), jnp.asarray(sheared), grid + 0.5, sigma=0.1)


def test_smooth_rdf_gradients_finite_with_coincident_atoms(liquid):
    """Two atoms on top of each other (d = 0) leave every gradient finite; loss gradient matches FD (1e-6)."""
    position = np.array(liquid[0])
    position[1] = position[0]
    box, grid = jnp.asarray(L * np.eye(3)), jnp.linspace(1.0, 5.0, 30)
    g_ref = jnp.ones(30)

    @jax.jit
    def loss(pos, box):
        return rdf_mse(smooth_rdf(pos, box, grid, sigma=0.15), g_ref)

    d_pos, d_box = jax.grad(loss, argnums=(0, 1))(jnp.asarray(position), box)
    assert np.all(np.isfinite(np.asarray(d_pos))) and np.all(np.isfinite(np.asarray(d_box)))
    h, k = 1e-5, 5
    bump = np.zeros_like(position)
    bump[k, 0] = h
    fd = (loss(jnp.asarray(position + bump), box) - loss(jnp.asarray(position - bump), box)) / (2 * h)
    assert float(d_pos[k, 0]) == pytest.approx(float(fd), rel=1e-6, abs=1e-12)
