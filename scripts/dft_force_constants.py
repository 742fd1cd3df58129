"""DFT force constants from the finite-displacement VASP runs, through phonopy.

Inputs: unitcell, displacements, vasprun (list). Params: element. Outputs: phonopy (phonopy_params.yaml).
"""

from ase.io import read

from ffdiff.data.phonopy import phonopy_from_displacements, read_displacements
from ffdiff.data.vasp import read_vasprun
from ffdiff.workflow import configure_logging


def run(inputs, params, outputs) -> None:
    supercell, dataset = read_displacements(inputs.displacements)
    forces = [read_vasprun(p, element=params.element).get_forces() for p in inputs.vasprun]
    phonon = phonopy_from_displacements(read(inputs.unitcell, format="vasp"), supercell, dataset, forces)
    phonon.save(outputs.phonopy, settings={"force_constants": True})
    logger.info("force constants %s from %d displacement(s)", phonon.force_constants.shape, len(forces))


if __name__ == "__main__":
    logger = configure_logging(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
