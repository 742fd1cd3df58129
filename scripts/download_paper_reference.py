"""Download the authors' DFT force constants (phonopy FORCE_CONSTANTS of a 64-atom Si supercell, and
its SPOSCAR) and derive the unit cell the supercell repeats.

Params: urls ({supercell, force_constants}; credentials in them are used, and logged as ***), sha256 (same
keys, optional), supercell_matrix.
Outputs: supercell, force_constants, unitcell.
"""

from ase.io import read, write

from ffdiff.data.archive import fetch_url, redact_url
from ffdiff.data.phonopy import unitcell_from_supercell
from ffdiff.study.jobs import start_job


def run(params, outputs) -> None:
    for key in ("supercell", "force_constants"):
        fetch_url(params.urls[key], outputs[key], sha256=(params.sha256 or {}).get(key))
        logger.info("downloaded %s -> %s", redact_url(params.urls[key]), outputs[key])
    unitcell = unitcell_from_supercell(read(outputs.supercell, format="vasp"), params.supercell_matrix)
    write(outputs.unitcell, unitcell, format="vasp", direct=True)
    logger.info("unit cell: %d atoms, cell lengths %s Å", len(unitcell), unitcell.cell.lengths().round(6))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.params, snakemake.output)  # noqa: F821
