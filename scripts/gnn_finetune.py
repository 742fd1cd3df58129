"""Fine-tune the pretrained MPGNN on energies and forces of the training trajectory (FT-GNN); a killed
job resumes from its checkpoint (ffdiff.study.jobs.job_checkpoints).

Inputs: model (pretrained .npz), trajectory (.npz). Params: training, split, seed.
Outputs: model (.npz), history (JSON).
"""

from pathlib import Path

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import fit_energies_forces, split_frames
from ffdiff.potentials.models import load_model, save_model
from ffdiff.fitting.training import train_settings
from ffdiff.study.jobs import job_checkpoints, start_job, write_json


def run(inputs, params, outputs, checkpoints: Path) -> None:
    model, start, _ = load_model(inputs.model)
    splits = split_frames(Dataset.load(inputs.trajectory), model, fractions=params.split, seed=params.seed)
    best, history, summary = fit_energies_forces(model, start, splits, train_settings(params.training, params.seed),
                                        checkpoint=checkpoints / "training.npz", fingerprint=checkpoints.name)
    save_model(outputs.model, model, best, stage="ft", data=str(inputs.trajectory))
    write_json(outputs.history, {"history": history, "summary": summary})


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    with job_checkpoints(snakemake) as folder:  # noqa: F821
        run(snakemake.input, snakemake.params, snakemake.output, folder)  # noqa: F821
