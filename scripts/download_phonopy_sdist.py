"""Fetch phonopy's source distribution, which ships real VASP data for diamond Si.

Outputs: tarball (resources/downloads/phonopy-{version}.tar.gz). Wildcards: version.
"""

from pathlib import Path

from ffdiff.data import download_sdist
from ffdiff.study.jobs import start_job


def run(wildcards, outputs) -> None:
    path = download_sdist("phonopy", wildcards.version, Path(outputs.tarball).parent)
    logger.info("downloaded %s", path)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.output)  # noqa: F821
