"""One fine-tuning arm: continue from the converged energy/force fine-tuning (ft_start) on energies and
forces plus, unless its share is 0 (the control arm, ft), an RDF term through differentiable MD that is
that share of the loss at the start. Every arm shares data, epochs, schedule and seed. A killed job
resumes from its checkpoint (ffdiff.study.jobs.job_checkpoints).

Inputs: model (ft_start .npz), trajectory (.npz, energies and forces), target (.npz, the RDF target: its
g(r) and the MD start frames; may hold positions only). Params: share, rdf ({training, shares, n_steps,
record_every, replicas, ensemble}), grid (rdf_grid), temperature_K, md (gnn.md), split, seed. Outputs: model (.npz), history (JSON with diagnostics). Wildcards: arm.
"""

from pathlib import Path

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import RDFSettings, fit_rdf, reference_rdf, split_frames
from ffdiff.potentials.models import load_model, save_model
from ffdiff.fitting.training import train_settings
from ffdiff.md import MDSettings
from ffdiff.study.jobs import job_checkpoints, start_job, write_json


def run(wildcards, inputs, params, outputs, checkpoints: Path) -> None:
    model, start, _ = load_model(inputs.model)
    splits = split_frames(Dataset.load(inputs.trajectory), model, fractions=params.split, seed=params.seed)
    target = Dataset.load(inputs.target)
    starts = {name: target.positions[index]
              for name, index in target.split(fractions=params.split, seed=params.seed).items()}
    grid, rdf = RDFSettings(**params.grid), params.rdf
    md = MDSettings.from_blocks(params.md, rdf, temperature_K=params.temperature_K)
    best, history, summary, diagnostics = fit_rdf(
        model, start, splits, starts, target.cells[0], reference_rdf(target, grid),
        train_settings(rdf["training"], params.seed), grid, md, replicas=rdf["replicas"], share=params.share,
        checkpoint=checkpoints / "training.npz", fingerprint=checkpoints.name)
    save_model(outputs.model, model, best, stage=wildcards.arm, data=str(inputs.trajectory),
               target=str(inputs.target))
    write_json(outputs.history, {"history": history, "summary": summary, "diagnostics": diagnostics})


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    with job_checkpoints(snakemake) as folder:  # noqa: F821
        run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output, folder)  # noqa: F821
