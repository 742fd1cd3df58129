"""DFT force constants of the supercell, through phonopy, from the displaced-supercell VASP runs or
from a FORCE_SETS / FORCE_CONSTANTS file.

Inputs: unitcell; displacements (+ vasprun list) or supercell (POSCAR); file (FORCE_SETS /
FORCE_CONSTANTS) unless origin = vasprun. Params: element, origin.
Outputs: phonopy (phonopy_params.yaml with force constants).
"""

from ase.io import read

from ffdiff.data import phonopy as ph
from ffdiff.data.vasp import read_vasprun
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    unitcell = read(inputs.unitcell, format="vasp")
    if "supercell" in inputs.keys():
        supercell, dataset = read(inputs.supercell, format="vasp"), None
    else:
        supercell, dataset = ph.read_displacements(inputs.displacements)
    if params.origin == "force_sets":
        phonon = ph.phonopy_from_force_sets(unitcell, supercell, inputs.file)
    elif params.origin == "force_constants":
        phonon = ph.phonopy_from_force_constants(unitcell, supercell, inputs.file)
    else:
        forces = [read_vasprun(p, element=params.element).get_forces() for p in inputs.vasprun]
        phonon = ph.phonopy_from_displacements(unitcell, supercell, dataset, forces)
    ph.save_phonopy(phonon, outputs.phonopy)
    logger.info("force constants %s from %s", phonon.force_constants.shape, params.origin)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
