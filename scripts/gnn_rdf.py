"""Fine-tune the pretrained MPGNN on energies/forces plus the RDF of a differentiable MD run
(FT-GNN (RDF)); the target is the training trajectory's RDF. A killed job resumes from its checkpoint
(ffdiff.workflow.job_checkpoints).

Inputs: model (pretrained .npz), trajectory (.npz). Params: rdf ({training, weight, md_steps,
record_every, ensemble}), grid (rdf_grid), temperature_K, md ({timestep_fs, tdamp_fs}), split, seed.
Outputs: model (.npz), history (JSON with diagnostics).
"""

from pathlib import Path

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import (
    MDSettings,
    RDFSettings,
    fit_rdf,
    load_model,
    reference_rdf,
    save_model,
    split_frames,
)
from ffdiff.fitting.training import train_settings
from ffdiff.workflow import job_checkpoints, start_job, write_json


def run(inputs, params, outputs, checkpoints: Path) -> None:
    model, start, _ = load_model(inputs.model)
    trajectory = Dataset.load(inputs.trajectory)
    splits = split_frames(trajectory, model, fractions=params.split, seed=params.seed)
    grid, rdf = RDFSettings(**params.grid), params.rdf
    md = MDSettings(n_steps=rdf["md_steps"], dt=params.md["timestep_fs"], temperature_K=params.temperature_K,
                    ensemble=rdf["ensemble"], tau=params.md["tdamp_fs"], record_every=rdf["record_every"],
                    seed=params.seed)
    best, history, summary, diagnostics = fit_rdf(
        model, start, splits, trajectory.positions[0], trajectory.cells[0], reference_rdf(trajectory, grid),
        train_settings(rdf["training"], params.seed), grid, md, rdf_weight=rdf["weight"],
        checkpoint=checkpoints / "training.npz", fingerprint=checkpoints.name)
    save_model(outputs.model, model, best, stage="ft_rdf", data=str(inputs.trajectory))
    write_json(outputs.history, {"history": history, "summary": summary, "diagnostics": diagnostics})


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    with job_checkpoints(snakemake) as folder:  # noqa: F821
        run(snakemake.input, snakemake.params, snakemake.output, folder)  # noqa: F821
