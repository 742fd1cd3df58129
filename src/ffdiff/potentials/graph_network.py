"""jax-md's ``EnergyGraphNet`` (the GNN family of Gangan et al.) on ffdiff's neighbour lists.

The network is jax-md's own code, not a copy: :class:`jax_md.energy.EnergyGraphNet` (flax nnx) is
built once per configuration, split with ``nnx.split`` into its static graph definition and its
weights, and merged back (``nnx.merge``) from a plain nested dict of arrays at every evaluation. Its
``GraphNetEncoder`` and ``GlobalDecoder`` then run exactly as in ``EnergyGraphNet.__call__`` with the
sparse (jraph) neighbour-list format. What ffdiff supplies is the graph, built from its
:class:`~ffdiff.neighbors.NeighborList` so that it is the graph jax-md's
``energy.graph_network_neighbor_list`` builds from its own list:

* **Edges.** One edge per ordered pair (i, j) closer than r_c (``|r_ij|² < r_c²``, a hard cutoff, as
  jax-md's list), receiver i, sender j, with the feature ``dR = R_i − R_j`` (the displacement vector,
  not its length: the model is not rotation invariant, exactly as jax-md's). ffdiff's
  ``r_ij = R_j − R_i + S·box`` enters as ``−r_ij``. Listed edges beyond r_c (a skin) and padding are
  dropped; a short list (``short_capacity``) is honoured as by the MPGNN (NaN if it overflows).
* **Self-edges.** jax-md builds this model's list with ``mask_self=False``, so every atom is its own
  neighbour through one edge (i, i) with ``dR = 0``. ffdiff's lists never hold (i, i), so N such
  edges are prepended: the function is jax-md's, self-edges included.
* **Layout.** As jax-md's sparse path: N atoms plus one zero padding node, two graphs (the real one
  and a padding graph), kept edges first, the rest sent to the padding node and graph; zero node and
  global inputs; the energy is the global decoder's output for graph 0. jax-md's thresholded variant
  (``dr_threshold > 0``) keeps pairs with ``dr² < r_c² + 1e-5`` (up to ~1.3e-6 Å beyond r_c); ffdiff
  keeps the strict test of the list jax-md builds without a threshold.

The network (Battaglia et al. graph network, sum aggregation): edge, node and global encoders
(MLPs of ``mlp_sizes``, activation after every layer), then ``n_recurrences`` updates, each on the
current state concatenated with the encoded one:

.. math::
    e'_{ij} = \\phi_e([e_{ij} \\| h_j \\| h_i \\| u]), \\qquad
    h'_i = \\phi_h([h_i \\| \\textstyle\\sum_{k} e'_{ki} \\| \\sum_{j} e'_{ij} \\| u]), \\qquad
    u' = \\phi_u([\\textstyle\\sum_i h'_i \\| \\sum_{ij} e'_{ij} \\| u])

and ``E_net = ψ(u^K)``, a decoder MLP (``mlp_sizes + (1,)``, linear output) of the global state.

**Energy offset.** jax-md's energy is ``E_net`` alone. ffdiff adds ``N · e0``: ``E = E_net + N·e0``
with ``e0`` a trainable per-atom offset (eV), started at the training set's mean energy per atom, so
training starts at the right scale; ``e0 = 0`` gives jax-md's function exactly. ``E_net`` itself is
not extensive (the global state sums features over all atoms and edges and feeds them through an
MLP), so a model fitted on 64-atom cells need not transfer to other sizes: that is the model's, not
this port's, property.

The computation runs in the dtype of the parameters (float32 parameters give a float32 energy);
jax-md initialises float32 weights, which :func:`init_params` casts.

References:
    A. S. Gangan et al., J. Chem. Theory Comput. 21, 5867 (2025), doi:10.1021/acs.jctc.4c01784
    S. S. Schoenholz and E. D. Cubuk, JAX MD, NeurIPS (2020), arXiv:1912.04232
    P. W. Battaglia et al., Relational inductive biases, deep learning, and graph networks (2018),
    arXiv:1806.01261
    V. Bapst et al., Nat. Phys. 16, 448 (2020), doi:10.1038/s41567-020-0842-8
"""

from __future__ import annotations

import dataclasses
import functools
import math
from types import MappingProxyType

import jax
import jax.numpy as jnp

from ffdiff.neighbors.cells import compact
from ffdiff.neighbors import NeighborList, edge_vectors, on_short_list
from ffdiff.potentials.registry import NetworkPotential, network_potential
from ffdiff.typing import Params

__all__ = ["ACTIVATIONS", "EnergyGraphNetConfig", "EnergyGraphNetPotential", "energy", "from_module",
           "init_params", "potential", "to_module"]

#: Activation names a configuration may use; jax-md's default for ``EnergyGraphNet`` is softplus.
ACTIVATIONS = MappingProxyType({"softplus": jax.nn.softplus, "relu": jax.nn.relu, "silu": jax.nn.silu,
                                "tanh": jnp.tanh, "gelu": jax.nn.gelu})


@dataclasses.dataclass(frozen=True)
class EnergyGraphNetConfig:
    """Hyperparameters (hashable, so it can be a static ``jit`` argument); jax-md's defaults but the cutoff.

    The MLPs use jax-md's initialisers (``nn.DEFAULT_KERNEL_INIT``: variance scaling 1, fan_avg,
    truncated normal; zero biases), which are not configurable here.

    Attributes:
        cutoff: r_c in Å (jax-md's Si example used 3.0; 3.77, SW's range, compares with the MPGNN).
        n_recurrences: graph-network updates.
        mlp_sizes: layer widths of every MLP (the decoder appends a width-1 output layer).
        activation: a name of :data:`ACTIVATIONS`.
    """

    cutoff: float = 3.77
    n_recurrences: int = 2
    mlp_sizes: tuple[int, ...] = (64, 64)
    activation: str = "softplus"

    def __post_init__(self):
        if not (isinstance(self.cutoff, int | float) and math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ValueError(f"expected cutoff > 0 Å, got {self.cutoff!r}")
        n = self.n_recurrences
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"expected n_recurrences to be an integer >= 1, got {n!r}")
        sizes = self.mlp_sizes
        if (not isinstance(sizes, list | tuple) or not sizes
                or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes)):
            raise ValueError(f"expected mlp_sizes to be a non-empty list of integers >= 1, got {sizes!r}")
        object.__setattr__(self, "mlp_sizes", tuple(sizes))  # YAML and JSON give lists
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"expected activation to be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")


def _no_displacement(*args, **kwargs):  # the module's own graph builder is never called
    raise RuntimeError("ffdiff builds the EnergyGraphNet graph itself; call graph_network.energy")


def _module(config: EnergyGraphNetConfig, key: jax.Array):
    """jax-md's module for ``config`` (sparse format, single species: one zero node feature)."""
    from jax_md import energy as jmd_energy
    from jax_md import partition

    return jmd_energy.EnergyGraphNet(_no_displacement, config.cutoff, key=key, n_recurrences=config.n_recurrences,
                                     mlp_sizes=config.mlp_sizes, activation=ACTIVATIONS[config.activation],
                                     format=partition.Sparse)


@functools.lru_cache(maxsize=32)
def _graphdef(config: EnergyGraphNetConfig):
    """The static part of the module (``nnx.split``), made from shapes only."""
    from flax import nnx

    abstract = nnx.eval_shape(lambda: _module(config, jax.random.key(0)))
    return nnx.split(abstract)[0]


def to_module(params: Params, config: EnergyGraphNetConfig):
    """jax-md's :class:`~jax_md.energy.EnergyGraphNet` holding ``params["net"]`` (``e0`` is not part of it).

    The module's ``displacement_fn`` is a stub: evaluate it through :func:`energy`, or call its
    ``GraphNetEncoder`` and ``GlobalDecoder`` on a graph. To use the weights in jax-md's own energy
    function, ``nnx.update(energy_fn.model, nnx.state(to_module(params, config)))``.
    """
    from flax import nnx

    return nnx.merge(_graphdef(config), params["net"])


def from_module(model, *, energy_per_atom: float = 0.0, dtype=None) -> Params:
    """The parameter dict of a jax-md ``EnergyGraphNet`` (e.g. ``energy_fn.model`` of
    ``energy.graph_network_neighbor_list``), in ``dtype`` (default: the module's, float32), with the
    per-atom offset ``e0 = energy_per_atom``."""
    from flax import nnx

    net = jax.tree.map(lambda x: jnp.asarray(x, dtype), nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    return {"net": net, "e0": jnp.asarray(energy_per_atom, dtype=jax.tree.leaves(net)[0].dtype)}


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _init_net(key: jax.Array, config: EnergyGraphNetConfig, dtype, zero_output: bool) -> dict:
    """jax-md's initial weights as a pure dict in ``dtype`` (one program: every initialiser in one call)."""
    from flax import nnx

    net = jax.tree.map(lambda x: x.astype(dtype), nnx.to_pure_dict(nnx.state(_module(config, key), nnx.Param)))
    if zero_output:
        last = f"layers_{len(config.mlp_sizes)}"
        net["GlobalDecoder"][last] = jax.tree.map(jnp.zeros_like, net["GlobalDecoder"][last])
    return net


def init_params(key: jax.Array, config: EnergyGraphNetConfig, dtype=jnp.float64, *,
                energy_per_atom: float = 0.0, zero_output: bool = True) -> Params:
    """jax-md's initial weights for ``key`` (those of ``graph_network_neighbor_list(..., key=key)``), cast
    to ``dtype``, and the per-atom offset.

    With ``zero_output`` (the default) the decoder's output layer starts at zero, so the energy starts
    at exactly ``N · energy_per_atom`` (and the forces at zero). jax-md initialises that layer randomly,
    which makes the network's initial energy large: its global state sums the features of every atom
    and edge (about +95 eV/atom for 64-atom liquid Si with the default configuration), an error that
    takes Adam thousands of steps to remove. ``zero_output=False`` gives jax-md's weights unchanged.

    Args:
        key: JAX PRNG key.
        config: network hyperparameters.
        dtype: floating dtype of every leaf (and so of the computation).
        energy_per_atom: starting value of the per-atom offset ``e0`` in eV.
        zero_output: zero the kernel and bias of the decoder's last layer.

    Returns:
        ``{"net": <nnx state of EnergyGraphNet as a pure dict>, "e0": []}``; ``net`` is
        ``{"GraphNetEncoder": {"EdgeEncoder" | "NodeEncoder" | "GlobalEncoder" | "edge_fns_<t>" |
        "node_fns_<t>" | "global_fns_<t>": mlp}, "GlobalDecoder": mlp}`` with an MLP
        ``{"layers_<k>": {"kernel": [n_in, n_out], "bias": [n_out]}}`` (194 177 weights by default).

    Examples:
        >>> import jax
        >>> params = init_params(jax.random.key(0), EnergyGraphNetConfig(), energy_per_atom=-4.6)
        >>> sorted(params["net"]), float(params["e0"])
        (['GlobalDecoder', 'GraphNetEncoder'], -4.6)
        >>> sum(x.size for x in jax.tree.leaves(params["net"]))
        194177
    """
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"expected a floating dtype, got {dtype!r}")
    dtype = jnp.dtype(dtype)
    return {"net": _init_net(key, config, dtype, bool(zero_output)), "e0": jnp.asarray(energy_per_atom, dtype=dtype)}


def _graph(position, box, neighbors: NeighborList, cutoff: float, dtype):
    """The jraph graph jax-md's sparse ``neighbor_graph_input`` builds, from ffdiff's list."""
    import jraph

    n_atoms, n_listed = position.shape[0], neighbors.center.shape[0]
    nbrs = dataclasses.replace(neighbors, shift=neighbors.shift.astype(dtype))
    dr = edge_vectors(position.astype(dtype), box.astype(dtype), nbrs)  # r_j - r_i + S box
    keep = neighbors.edge_mask & (jnp.sum(jax.lax.stop_gradient(dr) ** 2, axis=-1) < cutoff**2)
    index, n_kept = compact(keep, n_listed)  # kept edges first, in list order
    filled = jnp.arange(n_listed) < n_kept
    atoms = jnp.arange(n_atoms, dtype=jnp.int32)
    # N self-edges (dR = 0), then the kept pairs; the rest point at the padding node N.
    receivers = jnp.concatenate([atoms, jnp.where(filled, neighbors.center[index], n_atoms)])
    senders = jnp.concatenate([atoms, jnp.where(filled, neighbors.neighbor[index], n_atoms)])
    edges = jnp.concatenate([jnp.zeros((n_atoms, 3), dtype), jnp.where(filled[:, None], -dr[index], 0.0)])
    n_edge = jnp.stack([n_atoms + n_kept, n_listed - n_kept]).astype(jnp.int32)
    return jraph.GraphsTuple(nodes=jnp.zeros((n_atoms + 1, 1), dtype), edges=edges, receivers=receivers,
                             senders=senders, globals=jnp.zeros((2, 1), dtype),
                             n_node=jnp.array([n_atoms, 1], jnp.int32), n_edge=n_edge)


def energy(params: Params, position: jax.Array, box: jax.Array, neighbors: NeighborList,
           config: EnergyGraphNetConfig) -> jax.Array:
    """Total energy in eV: jax-md's ``EnergyGraphNet`` plus ``N · e0``.

    Args:
        params: parameter dict from :func:`init_params`; its dtype sets the computation's.
        position: `[n_atoms, 3]` positions in Å.
        box: `[3, 3]` cell, lattice vectors as rows, in Å.
        neighbors: list built with ``triplets=False`` and a radius ≥ ``config.cutoff`` (a skin is
            allowed), edges in both directions. A list with a short-list capacity is first reduced to
            the edges inside r_c (:func:`ffdiff.neighbors.short_list`); if they do not fit, the
            energy is NaN, never a sum short of terms.
        config: network hyperparameters (static).

    Returns:
        Scalar energy in eV, in the dtype of ``params``.
    """
    return on_short_list(lambda nbrs: _energy(params, position, box, nbrs, config), neighbors, position, box,
                         config.cutoff, triplets=False)


def _energy(params, position, box, neighbors, config):
    dtype = params["e0"].dtype
    graph = _graph(position, box, neighbors, config.cutoff, dtype)
    model = to_module(params, config)
    # EnergyGraphNet.__call__ after its graph builder (sparse format: graph 0 is the real one).
    globals_ = model.GraphNetEncoder(graph).globals
    e_net = jnp.squeeze(model.GlobalDecoder(globals_), axis=-1)[0]
    return e_net + position.shape[0] * params["e0"]


@dataclasses.dataclass(frozen=True, eq=False)  # identity hash, as Potential: a key for compiled functions
class EnergyGraphNetPotential(NetworkPotential):
    """jax-md's EnergyGraphNet as a :class:`~ffdiff.potentials.registry.NetworkPotential` (weights of
    :func:`init_params`)."""

    config: EnergyGraphNetConfig = EnergyGraphNetConfig()

    def initial_weights(self, key) -> Params:
        return init_params(key, self.config)


def potential(config: EnergyGraphNetConfig | None = None, *, seed: int = 0) -> EnergyGraphNetPotential:
    """jax-md's EnergyGraphNet as a :class:`~ffdiff.potentials.Potential` (``name="energy_graph_net"``).

    Examples:
        >>> pot = potential(EnergyGraphNetConfig(cutoff=3.0))
        >>> pot.name, pot.three_body, pot.cutoff(None)
        ('energy_graph_net', False, 3.0)
    """
    config = EnergyGraphNetConfig() if config is None else config
    return network_potential(EnergyGraphNetPotential, "energy_graph_net", config, energy, seed=seed)
