"""Pretrain the GNN of gnn.model (MPGNN or EnergyGraphNet) on the snapshot energies and forces (best
validation model kept; a killed job resumes from its checkpoint, ffdiff.study.jobs.job_checkpoints).

Inputs: snapshots (.npz). Params: model, training, split, seed. Outputs: model (.npz), history (JSON).
"""

from pathlib import Path


from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import fit_energies_forces, new_model, normalisation, split_frames
from ffdiff.potentials.models import save_model
from ffdiff.fitting.training import train_settings
from ffdiff.study.jobs import job_checkpoints, start_job, write_json


def run(inputs, params, outputs, checkpoints: Path) -> None:
    dataset = Dataset.load(inputs.snapshots)
    model, start = new_model(params.model, params.seed, **normalisation(dataset))
    splits = split_frames(dataset, model, fractions=params.split, seed=params.seed)
    settings = train_settings(params.training, params.seed)
    best, history, summary = fit_energies_forces(model, start, splits, settings, checkpoint=checkpoints / "training.npz",
                                        fingerprint=checkpoints.name)
    save_model(outputs.model, model, best, stage="pretrained", data=str(inputs.snapshots))
    write_json(outputs.history, {"history": history, "summary": summary})


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    with job_checkpoints(snakemake) as folder:  # noqa: F821
        run(snakemake.input, snakemake.params, snakemake.output, folder)  # noqa: F821
