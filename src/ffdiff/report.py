"""Tables the study publishes (CSV for machines, Markdown for the README), built from rule outputs."""

from __future__ import annotations

import pandas as pd


def check_table(checks: list[dict]) -> pd.DataFrame:
    """One row per potential from ``check.json`` documents (see :mod:`ffdiff.properties.summary`)."""
    rows = []
    for check in checks:
        s = check["structures"]
        cell, disp = s["unitcell"], s.get("displacement-001", {})
        rows.append({
            "potential": check["potential"],
            "a0 (Å)": cell["equilibrium_cell_lengths"][0],
            "DFT a (Å)": cell["reference_cell_lengths"][0],
            "E at DFT cell (eV/atom)": cell["energy_per_atom"],
            "pressure at DFT cell (GPa)": -sum(cell["stress_gpa"][:3]) / 3,
            "force RMSE vs DFT (eV/Å)": disp.get("dft", {}).get("force_rmse"),
            "F_x displaced atom (eV/Å)": (disp.get("displaced_atom_force") or [None])[0],
            "DFT F_x displaced atom (eV/Å)": (disp.get("dft", {}).get("displaced_atom_force") or [None])[0],
        })
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table with ``digits`` decimals."""

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
