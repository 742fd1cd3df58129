"""Force constants by automatic differentiation, and phonon post-processing through phonopy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.neighbors import NeighborList
from ffdiff.typing import Array, EnergyFn, Params

BAND_PATH_FCC = {  # Γ–X–K–Γ–L in the reciprocal basis of the FCC primitive cell
    "labels": ["$\\Gamma$", "X", "K", "$\\Gamma$", "L"],
    "points": [[0.0, 0.0, 0.0], [0.5, 0.0, 0.5], [0.375, 0.375, 0.75], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5]],
}
HIGH_SYMMETRY = {"Gamma": [0.0, 0.0, 0.0], "X": [0.5, 0.0, 0.5], "L": [0.5, 0.5, 0.5]}


def force_constants(energy_fn: EnergyFn, params: Params, position: Array, box: Array,
                    neighbors: NeighborList) -> Array:
    """`[n_atoms, n_atoms, 3, 3]` Hessian ∂²E/∂r_i∂r_j in eV/Å², atoms in the order given.

    Pass phonopy's supercell (``phonon.supercell``) to get phonopy's ordering.
    """
    n = position.shape[0]
    hessian = jax.hessian(lambda x: energy_fn(params, x.reshape(n, 3), box, neighbors))(position.ravel())
    return hessian.reshape(n, 3, n, 3).transpose(0, 2, 1, 3)


def force_constant_rows(energy_fn: EnergyFn, params: Params, position: Array, box: Array,
                        neighbors: NeighborList, atoms: Array) -> Array:
    """`[len(atoms), n_atoms, 3, 3]` rows Φ[i] = ∂²E/∂r_i∂r_j of :func:`force_constants` for the given
    atoms only: 3 Hessian-vector products per atom instead of 3 n_atoms.

    In a crystal every row is a rotated, permuted copy of its symmetry-equivalent atom's row, so a
    perfect supercell's force constants are determined by the rows of its symmetry-independent atoms
    (one in diamond).
    """
    n = position.shape[0]
    atoms = jnp.asarray(atoms)
    grad = jax.grad(lambda x: energy_fn(params, x, box, neighbors))
    directions = jnp.zeros((atoms.shape[0], 3, n, 3), position.dtype)
    directions = directions.at[jnp.arange(atoms.shape[0])[:, None], jnp.arange(3)[None, :], atoms[:, None],
                               jnp.arange(3)[None, :]].set(1.0)
    hvp = jax.vmap(lambda v: jax.jvp(grad, (position,), (v,))[1])(directions.reshape(-1, n, 3))
    return hvp.reshape(atoms.shape[0], 3, n, 3).transpose(0, 2, 1, 3)


def distribute_rows(phonon, atoms, rows) -> np.ndarray:
    """`[n, n, 3, 3]` force constants of phonopy's supercell from the rows of its symmetry-independent
    ``atoms`` (:func:`force_constant_rows`), each other row rotated and permuted from its
    independent atom's by the supercell's space group (phonopy's own distribution)."""
    from phonopy.harmonic.force_constants import distribute_force_constants

    atoms = np.asarray(atoms, dtype="int64")
    n = phonon.supercell.scaled_positions.shape[0]
    fc = np.zeros((n, n, 3, 3), dtype="double", order="C")
    fc[atoms] = np.asarray(rows)
    symmetry = phonon.symmetry
    distribute_force_constants(fc, atoms, np.array(phonon.supercell.cell.T, dtype="double", order="C"),
                               symmetry.symmetry_operations["rotations"], symmetry.atomic_permutations)
    return fc


def with_force_constants(phonon, fc, *, symmetry: bool = True):
    """A copy of a ``phonopy.Phonopy`` carrying other force constants (same cells).

    ``symmetry=False`` skips phonopy's symmetry search (a third of a second for a 64-atom
    supercell): the frequencies at given q-points (:func:`frequencies_at`) are the same, while
    meshes (DOS, thermal properties) want the symmetry, which reduces them to irreducible points.
    """
    import phonopy

    out = phonopy.Phonopy(phonon.unitcell, supercell_matrix=phonon.supercell_matrix,
                          primitive_matrix=phonon.primitive_matrix, is_symmetry=symmetry)
    out.force_constants = np.asarray(fc)
    return out


def frequencies_at(phonon, qpoints: dict[str, list[float]] = HIGH_SYMMETRY) -> dict[str, list[float]]:
    """Frequencies (THz, ascending) at named q-points of the primitive reciprocal basis."""
    phonon.run_qpoints(list(qpoints.values()))
    freqs = phonon.qpoints.frequencies
    return {name: sorted(float(f) for f in row) for name, row in zip(qpoints, freqs, strict=True)}


def band_structure(phonon, path=BAND_PATH_FCC, npoints: int = 51) -> dict:
    """Dispersion along ``path``: distances, frequencies (THz) per segment, tick labels."""
    from phonopy.phonon.band_structure import get_band_qpoints

    points = np.asarray(path["points"])
    bands = get_band_qpoints([points], npoints=npoints)
    phonon.run_band_structure(bands, labels=path["labels"])
    result = phonon.band_structure
    return {"distances": [np.asarray(x).tolist() for x in result.distances],
            "frequencies": [np.asarray(x).tolist() for x in result.frequencies],
            "labels": path["labels"]}


def density_of_states(phonon, mesh=(24, 24, 24), sigma: float = 0.1) -> dict:
    """Total phonon DOS (states/THz per primitive cell) on a Γ-centred mesh with Gaussian smearing."""
    phonon.run_mesh(list(mesh), is_gamma_center=True)
    phonon.run_total_dos(sigma=sigma)
    dos = phonon.total_dos
    return {"frequency_points": np.asarray(dos.frequency_points).tolist(), "total_dos": np.asarray(dos.dos).tolist()}


def thermal_properties(phonon, mesh=(24, 24, 24), t_min=0.0, t_max=1000.0, t_step=10.0) -> dict:
    """Helmholtz free energy (kJ/mol), entropy and heat capacity (J/K/mol) against temperature (K)."""
    phonon.run_mesh(list(mesh), is_gamma_center=True)
    phonon.run_thermal_properties(t_min=t_min, t_max=t_max, t_step=t_step)
    tp = phonon.thermal_properties
    return {"temperatures": np.asarray(tp.temperatures).tolist(),
            "free_energy": np.asarray(tp.free_energy).tolist(), "entropy": np.asarray(tp.entropy).tolist(),
            "heat_capacity": np.asarray(tp.heat_capacity).tolist()}
