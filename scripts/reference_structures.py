"""Gather the reference structures into an ASE trajectory (exact floats, DFT results attached).

Inputs: unitcell, and displacements + vasprun (list) or supercell. Params: element. Outputs: structures.
"""

from ase.io import write

from ffdiff.data import reference_structures
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    if "supercell" in inputs.keys():
        structures = reference_structures(inputs.unitcell, supercell=inputs.supercell, element=params.element)
    else:
        structures = reference_structures(inputs.unitcell, inputs.displacements, list(inputs.vasprun),
                                          element=params.element)
    write(outputs.structures, structures, format="traj")
    logger.info("wrote %d structures to %s", len(structures), outputs.structures)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
