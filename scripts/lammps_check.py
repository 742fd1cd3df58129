"""Every original and fitted parameter set re-evaluated in LAMMPS: elastic constants side by side.

Inputs: fits (fits.json files). Params: lattice_constants ({potential: Å}). Outputs: csv.
"""

import json
from pathlib import Path

import pandas as pd

from ffdiff.interop.lammps import check_fits
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    rows = check_fits([json.loads(Path(p).read_text()) for p in inputs.fits], dict(params.lattice_constants))
    table = pd.DataFrame(rows)
    table.to_csv(outputs.csv, index=False)
    logger.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
