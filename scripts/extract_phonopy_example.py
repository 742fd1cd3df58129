"""Copy one VASP example folder out of phonopy's sdist, after checking the archive's SHA-256.

Inputs: tarball. Params: sha256, example (folder inside the sdist).
Outputs: unitcell, displacements, vasprun (one file).
"""

from ffdiff.data import extract_members
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    folder = params.example.rstrip("/")
    extract_members(
        inputs.tarball,
        {f"{folder}/POSCAR-unitcell": outputs.unitcell, f"{folder}/disp.yaml": outputs.displacements,
         f"{folder}/vasprun.xml": outputs.vasprun[0]},
        sha256=params.sha256,
    )
    logger.info("extracted %s from %s", folder, inputs.tarball)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
