"""Message-passing graph neural network (MPGNN) potential for one species (Si).

The network follows the message-passing scheme of Gangan et al. (§2.4): edge and node embeddings,
``n_steps`` rounds of a message MLP and an update MLP with sum aggregation, then a readout and an
energy decoder. With ``u`` the envelope, ``b`` the radial basis and φ two-layer SiLU MLPs:

.. math::
    e_{ij} = \\mathrm{silu}(W_e\\, b(r_{ij}) + c_e), \\qquad h_i^0 = h_\\mathrm{Si}

    m_{ij}^t = u(r_{ij})\\, \\phi_m^t([h_i^{t-1} \\| h_j^{t-1} \\| e_{ij}])

    h_i^t = h_i^{t-1} + \\phi_u^t([h_i^{t-1} \\| \\textstyle\\sum_j m_{ij}^t / \\bar n])

    \\epsilon_i = e_0 + s\\,(w_d \\cdot \\mathrm{silu}(W_r h_i^K + c_r) + c_d), \\qquad E = \\sum_i \\epsilon_i

* ``b_k(r) = sqrt(2 / r_c) sin(kπ r / r_c) / r``, k = 1 … ``n_basis`` (Bessel basis, DimeNet).
* ``u(d) = 1 − (p+1)(p+2)/2 d^p + p(p+2) d^(p+1) − p(p+1)/2 d^(p+2)``, d = r / r_c: it vanishes
  with its first and second derivatives at r_c, and every message carries it, so energy and
  forces are continuous (energy C²) when a neighbour crosses the cutoff.
* With ``angular = L ≥ 1`` the update also sees, per channel c of C linear combinations of the
  message channels (``m W_a``), the rotation invariants of their angular moments
  ``A_l,ic = Σ_j m_ijc Y_l(r̂_ij) / n̄`` (Y_1 the unit vector, Y_2 its
  traceless square, orthonormal components): ``|A_l,ic|² = Σ_jk m_ijc m_ikc P̃_l(cos θ_jik) / n̄²``
  with P̃_1 = cos θ and P̃_2 = cos²θ − 1/3. These are three-body (angular) terms with learned
  radial weights, the Cartesian form of the atomic cluster expansion's B-basis at correlation
  order two (Drautz 2019; Batatia et al. 2022), at the cost of a few numbers per edge: a network
  that passes distances only sees angles only through several message-passing steps, while
  silicon's potentials (SW, EDIP) are built on them.
* ``e_0`` (offset) and ``s`` (scale) put the decoder's O(1) output at the data's energy per atom
  and force scale from the first step (``init_params``' ``energy_per_atom``, ``energy_scale``).
* Energies are decoded per atom and summed, so the model is extensive: a fit on 64-atom cells
  transfers to 216-atom cells, and ``e0`` can start at the data set's mean energy per atom.
* ``n̄`` (``avg_neighbors``) keeps the aggregated message O(1) whatever the coordination.

The computation runs in the dtype of the parameters (float32 parameters give a float32 energy).

References:
    A. S. Gangan et al., J. Chem. Theory Comput. 21, 5867 (2025), doi:10.1021/acs.jctc.4c01784
    J. Gasteiger, J. Groß and S. Günnemann, ICLR (2020) (DimeNet basis and envelope),
    arXiv:2003.03123
    J. Gilmer et al., ICML (2017) (message passing), arXiv:1704.01212
    R. Drautz, Phys. Rev. B 99, 014104 (2019) (atomic cluster expansion), doi:10.1103/PhysRevB.99.014104
    I. Batatia et al., NeurIPS (2022) (MACE), arXiv:2206.07697
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from ffdiff.neighbors import NeighborList, edge_vectors, on_short_list
from ffdiff.potentials._masking import distance, inside
from ffdiff.potentials.registry import NetworkPotential, network_potential
from ffdiff.typing import Params

__all__ = ["MPGNNConfig", "MPGNNPotential", "energy", "init_params", "per_atom_energy", "potential"]


@dataclasses.dataclass(frozen=True)
class MPGNNConfig:
    """Hyperparameters of the network (hashable, so it can be a static ``jit`` argument).

    Attributes:
        cutoff: interaction range r_c in Å.
        n_basis: number of radial (Bessel) basis functions.
        features: width of node and edge features.
        n_steps: message-passing steps K.
        hidden: hidden width of every MLP.
        envelope_exponent: p of the polynomial envelope (≥ 2: energy stays C² at r_c).
        avg_neighbors: typical neighbour count n̄ the aggregated messages are divided by.
        angular: highest order L (0, 1 or 2) of the messages' angular moments the update sees
            (0: distances only).
        angular_channels: number C of linear combinations of the message channels whose moments
            are taken (their cost per edge grows as C × (3 + 5)).
    """

    cutoff: float = 3.77
    n_basis: int = 16
    features: int = 32
    n_steps: int = 3
    hidden: int = 64
    envelope_exponent: int = 6
    avg_neighbors: float = 4.0
    angular: int = 0
    angular_channels: int = 8

    def __post_init__(self):
        if not (isinstance(self.cutoff, int | float) and math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ValueError(f"expected cutoff > 0 Å, got {self.cutoff!r}")
        for name in ("n_basis", "features", "n_steps", "hidden", "angular_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"expected {name} to be an integer >= 1, got {value!r}")
        p = self.envelope_exponent
        if not isinstance(p, int) or isinstance(p, bool) or p < 2:
            raise ValueError(f"expected envelope_exponent to be an integer >= 2, got {p!r}")
        if self.angular not in (0, 1, 2) or isinstance(self.angular, bool):
            raise ValueError(f"expected angular to be 0, 1 or 2, got {self.angular!r}")
        if not (isinstance(self.avg_neighbors, int | float) and self.avg_neighbors > 0):
            raise ValueError(f"expected avg_neighbors > 0, got {self.avg_neighbors!r}")


def _dense(key: jax.Array, n_in: int, n_out: int, dtype) -> dict[str, jax.Array]:
    """LeCun-normal weights `[n_in, n_out]` and zero bias `[n_out]`."""
    w = jax.random.normal(key, (n_in, n_out), dtype=dtype) / math.sqrt(n_in)
    return {"w": w, "b": jnp.zeros((n_out,), dtype=dtype)}


def _mlp_params(key: jax.Array, n_in: int, n_hidden: int, n_out: int, dtype) -> dict[str, dict]:
    k1, k2 = jax.random.split(key)
    return {"layer0": _dense(k1, n_in, n_hidden, dtype), "layer1": _dense(k2, n_hidden, n_out, dtype)}


def init_params(key: jax.Array, config: MPGNNConfig, dtype=jnp.float64, *,
                energy_per_atom: float = 0.0, energy_scale: float = 1.0) -> Params:
    """Random initial parameters as a nested dict of arrays.

    Args:
        key: JAX PRNG key.
        config: network hyperparameters.
        dtype: floating dtype of every leaf (and so of the computation).
        energy_per_atom: starting value of the per-atom offset ``e0`` in eV, e.g. the mean
            energy per atom of the training set.
        energy_scale: starting value of the scale ``s`` of the decoded energies in eV, e.g. the
            training set's force RMS times 1 Å.

    Returns:
        ``{"node_embedding": [F], "edge_embedding": {"w": [n_basis, F], "b": [F]},
        "steps": {"step<t>": {"message": mlp(3F → H → F), "update": mlp((2F + LC → H → F),
        "angular": [F, C] (only if L > 0)}},
        "readout": {"w": [F, H], "b": [H]}, "decoder": {"w": [H, 1], "b": [1]}, "e0": [], "scale": []}``
        with an MLP ``{"layer0": {"w", "b"}, "layer1": {"w", "b"}}``.

    Examples:
        >>> import jax
        >>> params = init_params(jax.random.key(0), MPGNNConfig(n_steps=2), energy_per_atom=-4.6)
        >>> sorted(params["steps"]), float(params["e0"])
        (['step0', 'step1'], -4.6)
    """
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"expected a floating dtype, got {dtype!r}")
    f, h = config.features, config.hidden
    keys = jax.random.split(key, 4 + 2 * config.n_steps)
    steps = {
        f"step{t}": {
            "message": _mlp_params(keys[4 + 2 * t], 3 * f, h, f, dtype),
            "update": _mlp_params(keys[5 + 2 * t], 2 * f + config.angular * config.angular_channels, h, f, dtype),
            **({"angular": _dense(jax.random.fold_in(keys[4 + 2 * t], 1), f, config.angular_channels, dtype)["w"]}
               if config.angular else {}),
        }
        for t in range(config.n_steps)
    }
    decoder = _dense(keys[3], h, 1, dtype)
    return {
        "node_embedding": jax.random.normal(keys[0], (f,), dtype=dtype),
        "edge_embedding": _dense(keys[1], config.n_basis, f, dtype),
        "steps": steps,
        "readout": _dense(keys[2], f, h, dtype),
        "decoder": decoder,
        "e0": jnp.asarray(energy_per_atom, dtype=dtype),
        "scale": jnp.asarray(energy_scale, dtype=dtype),
    }


def bessel_basis(r: jax.Array, r_cut: float, n_basis: int) -> jax.Array:
    """`[..., n_basis]` sqrt(2/r_c) sin(kπ r / r_c) / r in Å^-3/2 for safe (non-zero) `[...]` r in Å."""
    k = jnp.arange(1, n_basis + 1, dtype=r.dtype)
    return math.sqrt(2.0 / r_cut) * jnp.sin(k * (math.pi / r_cut) * r[..., None]) / r[..., None]


def envelope(d: jax.Array, p: int) -> jax.Array:
    """Polynomial envelope of reduced distance d = r / r_c: 1 at 0, zero value, slope and curvature at 1."""
    return (1.0 - 0.5 * (p + 1) * (p + 2) * d**p + p * (p + 2) * d ** (p + 1)
            - 0.5 * p * (p + 1) * d ** (p + 2))


def _apply_dense(layer: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
    return x @ layer["w"] + layer["b"]


def _apply_mlp(mlp: Mapping[str, Mapping[str, jax.Array]], x: jax.Array) -> jax.Array:
    return _apply_dense(mlp["layer1"], jax.nn.silu(_apply_dense(mlp["layer0"], x)))


def angular_basis(unit: jax.Array, order: int) -> jax.Array:
    """`[..., 3 or 8]` orthonormal Cartesian harmonics of unit vectors: the vector itself (l = 1) and,
    for ``order`` 2, the five components of its traceless square (l = 2), so that the dot product of
    two rows' l-blocks is cos θ and cos²θ − 1/3."""
    if order == 1:
        return unit
    x, y, z = unit[..., 0], unit[..., 1], unit[..., 2]
    s2, s6 = math.sqrt(2.0), math.sqrt(6.0)
    quadratic = jnp.stack([s2 * x * y, s2 * x * z, s2 * y * z, (x * x - y * y) / s2, (2 * z * z - x * x - y * y) / s6],
                          axis=-1)
    return jnp.concatenate([unit, quadratic], axis=-1)


def _message(mlp, node: jax.Array, edge: jax.Array, center: jax.Array, neighbor: jax.Array) -> jax.Array:
    """The message MLP on [h_i ‖ h_j ‖ e_ij] with its first layer applied per block: the node blocks
    per atom, then gathered, which halves the work per edge (same weights as the concatenation)."""
    w, b = mlp["layer0"]["w"], mlp["layer0"]["b"]
    f = node.shape[-1]
    pre = (node @ w[:f])[center] + (node @ w[f:2 * f])[neighbor] + edge @ w[2 * f:] + b
    return _apply_dense(mlp["layer1"], jax.nn.silu(pre))


def per_atom_energy(params: Params, position: jax.Array, box: jax.Array, neighbors: NeighborList,
                    config: MPGNNConfig) -> jax.Array:
    """`[n_atoms]` atomic energies ε_i in eV (they sum to :func:`energy`); arguments as there.

    A list with a short-list capacity is first reduced to the edges inside r_c
    (:func:`ffdiff.neighbors.short_list`); if they do not fit, every energy is NaN, and so is the
    force on every atom the short list holds (as for SW and EDIP): never a sum short of terms.
    """
    return on_short_list(lambda nbrs: _per_atom_energy(params, position, box, nbrs, config), neighbors, position,
                         box, config.cutoff, triplets=False)


def _per_atom_energy(params, position, box, neighbors, config):
    dtype = params["e0"].dtype
    n_atoms = position.shape[0]
    # Cast the inputs, not the result, so float32 parameters give a float32 computation.
    nbrs = dataclasses.replace(neighbors, shift=neighbors.shift.astype(dtype))
    dr = edge_vectors(position.astype(dtype), box.astype(dtype), nbrs)
    # A list with a skin holds edges beyond r_c: they are masked here and contribute exactly zero.
    keep, r = inside(distance(dr, neighbors.edge_mask), neighbors.edge_mask, config.cutoff)
    weight = jnp.where(keep, envelope(r / config.cutoff, config.envelope_exponent), 0.0)[:, None]
    if config.angular:
        harmonics = angular_basis(dr / r[:, None], config.angular)  # r is safe (1 on padding)
        blocks = [slice(0, 3), slice(3, 8)][:config.angular]

    edge = jax.nn.silu(_apply_dense(params["edge_embedding"], bessel_basis(r, config.cutoff, config.n_basis)))
    node = jnp.broadcast_to(params["node_embedding"], (n_atoms, config.features))
    center, neighbor = neighbors.center, neighbors.neighbor
    for t in range(config.n_steps):  # K is a static hyperparameter: unrolled, not a loop over atoms
        step = params["steps"][f"step{t}"]
        message = weight * _message(step["message"], node, edge, center, neighbor)
        features = [node, jax.ops.segment_sum(message, center, num_segments=n_atoms) / config.avg_neighbors]
        if config.angular:
            channels = message @ step["angular"]
            moments = jax.ops.segment_sum(channels[:, :, None] * harmonics[:, None, :], center,
                                          num_segments=n_atoms) / config.avg_neighbors
            features += [jnp.sum(moments[..., block] ** 2, axis=-1) for block in blocks]
        node = node + _apply_mlp(step["update"], jnp.concatenate(features, -1))

    hidden = jax.nn.silu(_apply_dense(params["readout"], node))
    return params["e0"] + params["scale"] * _apply_dense(params["decoder"], hidden)[:, 0]


def energy(params: Params, position: jax.Array, box: jax.Array, neighbors: NeighborList,
           config: MPGNNConfig) -> jax.Array:
    """Total energy in eV, the sum of per-atom energies (extensive by construction).

    Args:
        params: nested parameter dict from :func:`init_params`; its dtype sets the computation's.
        position: `[n_atoms, 3]` positions in Å.
        box: `[3, 3]` cell, lattice vectors as rows, in Å.
        neighbors: list built with ``triplets=False`` and a radius ≥ ``config.cutoff`` (a skin is
            allowed, and a short list, see :func:`per_atom_energy`); edges in both directions.
        config: network hyperparameters (static).

    Returns:
        Scalar energy in eV, in the dtype of ``params``.
    """
    return jnp.sum(per_atom_energy(params, position, box, neighbors, config))


@dataclasses.dataclass(frozen=True, eq=False)  # identity hash, as Potential: a key for compiled functions
class MPGNNPotential(NetworkPotential):
    """The MPGNN as a :class:`~ffdiff.potentials.registry.NetworkPotential` (weights of :func:`init_params`)."""

    config: MPGNNConfig = MPGNNConfig()

    def initial_weights(self, key) -> Params:
        return init_params(key, self.config)


def potential(config: MPGNNConfig | None = None, *, seed: int = 0) -> MPGNNPotential:
    """The MPGNN as a :class:`~ffdiff.potentials.Potential` (``name="mpgnn"``, no triplets).

    Examples:
        >>> pot = potential(MPGNNConfig(cutoff=3.5))
        >>> pot.name, pot.three_body, pot.cutoff(pot.params())
        ('mpgnn', False, 3.5)
    """
    config = MPGNNConfig() if config is None else config
    return network_potential(MPGNNPotential, "mpgnn", config, energy, per_atom=per_atom_energy, seed=seed)
