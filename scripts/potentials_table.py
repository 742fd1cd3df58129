"""Collect every potential's check into one table (CSV, and the Markdown of the results page).

Inputs: checks (check.json files). Outputs: csv, markdown.
"""

import json
from pathlib import Path

from ffdiff.study.report import check_table, to_markdown
from ffdiff.study.jobs import start_job


def run(inputs, outputs) -> None:
    table = check_table([json.loads(Path(p).read_text()) for p in inputs.checks])
    table.to_csv(outputs.csv, index=False)
    Path(outputs.markdown).write_text(to_markdown(table))
    logger.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
