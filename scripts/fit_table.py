"""One CSV per fit family: every (potential, convention, optimizer, start) and the originals.

Inputs: fits (fits.json files). Outputs: csv.
"""

import json
from pathlib import Path

from ffdiff.study.report import fit_table
from ffdiff.study.jobs import start_job


def run(inputs, outputs) -> None:
    table = fit_table([json.loads(Path(p).read_text()) for p in inputs.fits])
    table.to_csv(outputs.csv, index=False)
    logger.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
