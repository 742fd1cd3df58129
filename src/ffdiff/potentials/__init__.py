"""Interatomic potentials as pure JAX energy functions of an explicit parameter pytree."""

from ffdiff.potentials import edip, stillinger_weber, tersoff
from ffdiff.potentials.io import load_params, read_lammps, save_params, starting_params, write_lammps
from ffdiff.potentials.lookup import get_potential
from ffdiff.potentials.registry import POTENTIALS, Potential

__all__ = [
    "POTENTIALS",
    "Potential",
    "edip",
    "get_potential",
    "load_params",
    "read_lammps",
    "save_params",
    "starting_params",
    "stillinger_weber",
    "tersoff",
    "write_lammps",
]
