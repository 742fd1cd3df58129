"""The points of every potential's Pareto front as one CSV.

Inputs: fronts (pareto.json files). Outputs: csv.
"""

import json
from pathlib import Path

from ffdiff.study.jobs import start_job
from ffdiff.study.report import pareto_table


def run(inputs, outputs) -> None:
    table = pareto_table([json.loads(Path(p).read_text()) for p in inputs.fronts])
    table.to_csv(outputs.csv, index=False)
    logger.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
