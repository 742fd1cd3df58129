"""The Table-6 metrics: one row per model × condition (train/test errors, MD tests).

Inputs: errors (JSON per model), tests (JSON per model × condition). Params: models, conditions, label.
Outputs: csv, markdown.
"""

import json
from pathlib import Path

from ffdiff.results import read_md_tests
from ffdiff.report import gnn_table, to_markdown
from ffdiff.workflow import start_job


def run(inputs, params, outputs) -> None:
    errors = {m: json.loads(Path(p).read_text()) for m, p in zip(params.models, inputs.errors, strict=True)}
    tests = read_md_tests(inputs.tests)
    table = gnn_table(errors, tests, models=params.models, conditions=params.conditions)
    table.to_csv(outputs.csv, index=False)
    Path(outputs.markdown).write_text(f"Reference: {params.label}.\n\n" + to_markdown(table))
    logger.info("\n%s", table)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
