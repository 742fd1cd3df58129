"""Copy the user's own VASP reference files under the fixed names later stages read.

Inputs: unitcell, displacements, vasprun (list). Params: element. Outputs: the same, under
resources/reference/vasp. The files are read first: a bad one fails here, named as you gave it.
"""

import shutil

from ffdiff.data import reference_structures
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    reference_structures(inputs.unitcell, inputs.displacements, list(inputs.vasprun), element=params.element)
    pairs = [(inputs.unitcell, outputs.unitcell), (inputs.displacements, outputs.displacements),
             *zip(inputs.vasprun, outputs.vasprun, strict=True)]
    for source, dest in pairs:
        shutil.copyfile(source, dest)
        logger.info("%s -> %s", source, dest)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
