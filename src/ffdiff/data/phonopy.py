"""phonopy displacement files (``phonopy_disp.yaml`` and the older ``disp.yaml``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from ase import Atoms


def _to_ase(cell) -> Atoms:
    return Atoms(symbols=cell.symbols, cell=np.asarray(cell.cell), scaled_positions=cell.scaled_positions,
                 pbc=True)


def read_displacements(path) -> tuple[Atoms, list[dict]]:
    """Perfect supercell and displacement list of a phonopy displacement file.

    Returns:
        (supercell, [{"atom": index, "displacement": `[3]` Å}, ...]) in phonopy's order.
    """
    path = Path(path)
    try:
        with open(path) as handle:
            head = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"cannot read phonopy displacement file {path}: {err}") from err
    if not isinstance(head, dict):
        raise ValueError(f"{path}: not a phonopy displacement file")
    if "phonopy" in head:  # phonopy_disp.yaml
        import phonopy

        ph = phonopy.load(path, produce_fc=False, log_level=0)
        dataset = ph.dataset["first_atoms"]
        supercell = _to_ase(ph.supercell)
    else:  # disp.yaml of phonopy < 2
        from phonopy.file_IO import parse_disp_yaml

        data, cell = parse_disp_yaml(path, return_cell=True)
        dataset, supercell = data["first_atoms"], _to_ase(cell)
    return supercell, [{"atom": int(d["number"]), "displacement": np.asarray(d["displacement"], float)}
                       for d in dataset]
