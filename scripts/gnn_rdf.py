"""Fine-tune the pretrained MPGNN on energies/forces plus the RDF of a differentiable MD run
(FT-GNN (RDF)); the target is the training trajectory's RDF.

Inputs: model (pretrained .npz), trajectory (.npz). Params: rdf ({training, weight, md_steps,
record_every, ensemble}), grid (rdf_grid), temperature_K, md ({timestep_fs, tdamp_fs}), split, seed.
Outputs: model (.npz), history (JSON with diagnostics).
"""

from pathlib import Path

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import (
    MDSettings,
    RDFSettings,
    fingerprint,
    fit_rdf,
    load_model,
    reference_rdf,
    save_model,
    split_frames,
)
from ffdiff.fitting.training import train_settings
from ffdiff.workflow import start_job, write_json


def run(inputs, params, outputs) -> None:
    model, start, _ = load_model(inputs.model)
    trajectory = Dataset.load(inputs.trajectory)
    splits = split_frames(trajectory, model, fractions=params.split, seed=params.seed)
    grid, rdf = RDFSettings(**params.grid), params.rdf
    md = MDSettings(n_steps=rdf["md_steps"], dt=params.md["timestep_fs"], temperature_K=params.temperature_K,
                    ensemble=rdf["ensemble"], tau=params.md["tdamp_fs"], record_every=rdf["record_every"],
                    seed=params.seed)
    key = fingerprint(Path(inputs.model), Path(inputs.trajectory), params.rdf, params.grid, params.md,
                      params.temperature_K, params.split, params.seed)
    best, history, diagnostics = fit_rdf(
        model, start, splits, trajectory.positions[0], trajectory.cells[0], reference_rdf(trajectory, grid),
        train_settings(rdf["training"], params.seed), grid, md, rdf_weight=rdf["weight"],
        checkpoint=Path(outputs.model).with_name("checkpoint.npz"), fingerprint=key)
    save_model(outputs.model, model, best, stage="ft_rdf", data=str(inputs.trajectory))
    write_json(outputs.history, {"history": history, "diagnostics": diagnostics})


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
