"""The Table-6 metrics: one row per model × condition (train/test errors; MD tests: RDF MSE, stability,
and the phase check's ``phase``, ``msd_A2`` (Å²) and ``temperature_drift_K`` (K)).

Also the training table: per stage, epochs, steps, best epoch and why training stopped.

Inputs: errors (JSON per model), tests (JSON per model × condition), histories (JSON per model).
Params: models, conditions, label. Outputs: csv, markdown, training (csv).
"""

import json
from pathlib import Path

from ffdiff.results import read_md_tests
from ffdiff.report import gnn_table, to_markdown, training_table
from ffdiff.workflow import start_job


def run(inputs, params, outputs) -> None:
    errors = {m: json.loads(Path(p).read_text()) for m, p in zip(params.models, inputs.errors, strict=True)}
    tests = read_md_tests(inputs.tests)
    table = gnn_table(errors, tests, models=params.models, conditions=params.conditions)
    table.to_csv(outputs.csv, index=False)
    Path(outputs.markdown).write_text(f"Reference: {params.label}.\n\n" + to_markdown(table))
    logger.info("\n%s", table)
    runs = {m: json.loads(Path(p).read_text()) for m, p in zip(params.models, inputs.histories, strict=True)}
    training = training_table(runs)
    training.to_csv(outputs.training, index=False)
    logger.info("\n%s", training)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
