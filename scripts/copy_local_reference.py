"""Copy the user's own VASP reference files under the fixed names later stages read.

Inputs: unitcell, displacements, vasprun (list). Outputs: the same, under resources/reference/vasp.
"""

import shutil

from ffdiff.workflow import configure_logging


def run(inputs, outputs) -> None:
    pairs = [(inputs.unitcell, outputs.unitcell), (inputs.displacements, outputs.displacements),
             *zip(inputs.vasprun, outputs.vasprun, strict=True)]
    for source, dest in pairs:
        shutil.copyfile(source, dest)
        logger.info("%s -> %s", source, dest)


if __name__ == "__main__":
    logger = configure_logging(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
