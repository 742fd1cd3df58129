"""Table 6's energy/force part: one row per model × split (train/test of the fine-tuning trajectory,
test of the pretraining snapshots), and the training table: per stage, epochs, steps, best epoch, why
training stopped, and for the fine-tuning arms the RDF weight and the RDF term's share of the loss.

Inputs: errors (JSON per model), histories (JSON per model). Params: models, label.
Outputs: csv, markdown, training (csv).
"""

import json
from pathlib import Path

from ffdiff.study.report import gnn_table, to_markdown, training_table
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    errors = {m: json.loads(Path(p).read_text()) for m, p in zip(params.models, inputs.errors, strict=True)}
    table = gnn_table(errors, models=params.models)
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
