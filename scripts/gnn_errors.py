"""Energy and force errors of one model on the train and test splits of the training trajectory, and
on the test split of the pretraining snapshots (``snapshots_test``: the pretrained model's own test
frames, the Cubuk conditions; the same split as pretraining's).

Inputs: model (.npz), trajectory (.npz), snapshots (.npz). Params: split, seed. Outputs: errors (JSON).
Wildcards: model.
"""

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import error_rows, split_frames
from ffdiff.potentials.models import load_model
from ffdiff.study.jobs import start_job, write_json


def run(inputs, params, outputs) -> None:
    model, weights, _ = load_model(inputs.model)
    splits = split_frames(Dataset.load(inputs.trajectory), model, fractions=params.split, seed=params.seed)
    rows = error_rows(model, weights, splits)
    snapshots = split_frames(Dataset.load(inputs.snapshots), model, fractions=params.split, seed=params.seed)
    rows["snapshots_test"] = error_rows(model, weights, snapshots, names=("test",))["test"]
    write_json(outputs.errors, rows)
    logger.info("%s", rows)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
