"""The uncertainty table: every fitted parameter and predicted property with its standard deviation.

Inputs: uncertainty (one JSON list of fits per potential). Outputs: csv (potential, objective, quantity, value,
std, kind).
"""

import json
from pathlib import Path

from ffdiff.study.report import uncertainty_table
from ffdiff.study.jobs import start_job


def run(inputs, outputs) -> None:
    table = uncertainty_table([doc for p in inputs.uncertainty for doc in json.loads(Path(p).read_text())])
    table.to_csv(outputs.csv, index=False)
    logger.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
