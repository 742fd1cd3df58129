"""A potential evaluated on reference structures, compared with the DFT results they carry."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from scipy.optimize import minimize_scalar

from ffdiff.units import EV_PER_A3_TO_GPA


def equilibrium_scale(calc, atoms: Atoms, bracket: float = 0.05) -> float:
    """Isotropic scale factor of ``atoms``' cell that minimises the energy (within ±``bracket``)."""

    def energy(scale: float) -> float:
        trial = atoms.copy()
        trial.set_cell(atoms.cell * scale, scale_atoms=True)
        trial.calc = calc
        return trial.get_potential_energy()

    result = minimize_scalar(energy, bounds=(1 - bracket, 1 + bracket), method="bounded",
                             options={"xatol": 1e-10})
    return float(result.x)


def _with_calc(atoms: Atoms, calc) -> dict:
    trial = atoms.copy()
    trial.calc = calc
    return {"energy": trial.get_potential_energy(), "forces": trial.get_forces(),
            "stress": trial.get_stress() * EV_PER_A3_TO_GPA}


def _dft(atoms: Atoms) -> dict | None:
    if atoms.calc is None:
        return None
    return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(),
            "stress": atoms.get_stress() * EV_PER_A3_TO_GPA}


def evaluate_structure(calc, atoms: Atoms) -> dict:
    """Energy per atom (eV), stress (GPa, Voigt, tension > 0), forces; errors against DFT if present."""
    ours, ref = _with_calc(atoms, calc), _dft(atoms)
    row = {
        "n_atoms": len(atoms),
        "energy_per_atom": ours["energy"] / len(atoms),
        "stress_gpa": ours["stress"].tolist(),
        "max_force": float(np.abs(ours["forces"]).max()),
    }
    if ref is not None:
        err = ours["forces"] - ref["forces"]
        row["dft"] = {
            "energy_per_atom": ref["energy"] / len(atoms),
            "stress_gpa": ref["stress"].tolist(),
            "max_force": float(np.abs(ref["forces"]).max()),
            "force_rmse": float(np.sqrt(np.mean(err**2))),
            "force_max_error": float(np.abs(err).max()),
        }
        if "displaced_atom" in atoms.info:
            k = int(atoms.info["displaced_atom"])
            row["dft"]["displaced_atom_force"] = ref["forces"][k].tolist()
            row["displaced_atom_force"] = ours["forces"][k].tolist()
    return row


def check_potential(calc, structures: list[Atoms]) -> dict:
    """Every structure by ``atoms.info["name"]``; the unit cell also gets its equilibrium scale."""
    out = {}
    for atoms in structures:
        name = atoms.info["name"]
        out[name] = evaluate_structure(calc, atoms)
        if name == "unitcell":
            scale = equilibrium_scale(calc, atoms)
            out[name]["equilibrium_cell_lengths"] = (atoms.cell.lengths() * scale).tolist()
            out[name]["reference_cell_lengths"] = atoms.cell.lengths().tolist()
    return out
