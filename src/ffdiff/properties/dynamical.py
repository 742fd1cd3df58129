"""Phonon frequencies at commensurate q-points in JAX, differentiable in the force constants.

phonopy (:func:`ffdiff.properties.phonons.frequencies_at`) gives the same numbers on the host; this
module is for derivatives of frequencies with respect to potential parameters (uncertainty
propagation), which phonopy cannot give.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ffdiff.typing import Array

# √(eV / (Å² amu)) / 2π in THz: the frequency unit of force constants in eV/Å² and masses in amu.
THZ = math.sqrt(1.602176634e-19 / (1e-20 * 1.66053906660e-27)) / (2 * math.pi) / 1e12


@functools.partial(jax.tree_util.register_dataclass, data_fields=["atoms", "dr", "primitive", "masses", "reciprocal"],
                   meta_fields=[])
@dataclasses.dataclass(frozen=True)
class PhononCell:
    """What the dynamical matrix of a supercell's force constants needs, from a ``phonopy.Phonopy``
    (a pytree: compiled code may take it as an argument).

    Attributes:
        atoms: `[p]` supercell indices of the primitive cell's atoms (phonopy's ``p2s_map``): the
            force-constant rows :func:`squared_frequencies` takes.
        dr: `[p, n, 3]` minimum-image vectors r_j − r_a from each of ``atoms`` to every supercell atom (Å).
        primitive: `[n, p]` one-hot map of each supercell atom to its primitive atom.
        masses: `[n]` atomic masses (amu).
        reciprocal: `[3, 3]` columns = the primitive reciprocal basis (1/Å, without the 2π).
    """

    atoms: np.ndarray
    dr: np.ndarray
    primitive: np.ndarray
    masses: np.ndarray
    reciprocal: np.ndarray


def phonon_cell(phonon) -> PhononCell:
    """:class:`PhononCell` of a ``phonopy.Phonopy``'s supercell and primitive cell."""
    supercell, primitive = phonon.supercell, phonon.primitive
    p2s = np.asarray(primitive.p2s_map)
    position, box = np.asarray(supercell.positions), np.asarray(supercell.cell)
    frac = (position[None, :, :] - position[p2s][:, None, :]) @ np.linalg.inv(box)
    dr = (frac - np.round(frac)) @ box
    s2p = np.asarray(primitive.s2p_map)
    one_hot = (s2p[:, None] == p2s[None, :]).astype(np.float64)
    return PhononCell(p2s, dr, one_hot, np.asarray(supercell.masses, dtype=np.float64),
                      np.linalg.inv(np.asarray(primitive.cell)))


def squared_frequencies(rows: Array, cell: PhononCell, qpoints) -> Array:
    """`[k, 3p]` eigenvalues ν² of the dynamical matrix in THz², ascending (negative: unstable modes).

    D_ab(q) = Σ_{j ∈ b} Φ[a, j] exp(2πi q·(r_j − r_a)) / √(m_a m_j). With minimum-image vectors this
    is exact at q-points commensurate with the supercell (Γ, X, L of a 2×2×2 cubic diamond
    supercell), where every image has the same phase, and an approximation elsewhere.

    Derivatives are first-order perturbation theory, ∂ν² = vᴴ ∂D v with the eigenvectors held
    fixed: right for degenerate modes too (the optical triplet at Γ) as long as the parameters keep
    the crystal's symmetry, where eigh's own derivative divides by zero.

    Args:
        rows: `[p, n, 3, 3]` force-constant rows of ``cell.atoms`` (eV/Å²).
        cell: from :func:`phonon_cell`.
        qpoints: `[k, 3]` in the primitive reciprocal basis.
    """
    q = jnp.asarray(qpoints, dtype=jnp.float64) @ cell.reciprocal.T  # Cartesian, 1/Å
    phase = jnp.exp(2j * jnp.pi * jnp.einsum("kx,ajx->kaj", q, cell.dr))
    inv_sqrt_m = 1.0 / jnp.sqrt(cell.masses[cell.atoms][:, None] * cell.masses[None, :])  # [p, n]
    d = jnp.einsum("kaj,ajxy,jb->kaxby", phase, rows * inv_sqrt_m[:, :, None, None], cell.primitive)
    p = cell.atoms.shape[0]
    d = d.reshape(q.shape[0], 3 * p, 3 * p)
    d = 0.5 * (d + jnp.conj(jnp.swapaxes(d, 1, 2)))
    vectors = jax.lax.stop_gradient(jnp.linalg.eigh(d)[1])
    values = jnp.real(jnp.einsum("kim,kij,kjm->km", jnp.conj(vectors), d, vectors))
    return THZ ** 2 * values
