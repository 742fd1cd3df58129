"""Replicated MD tests of one model at one condition (ffdiff.fitting.stability.md_runs): N runs from
start frames of the reference trajectory with N velocity seeds, the same for every model; per run
stability, failed step, RDF against the reference and the phase check, and their summary.

Inputs: model (.npz; none for the teacher), trajectory (.npz, the reference at that condition; may
hold positions only). Params: teacher (the teacher's {potential, params} when the tested model is the
teacher, else None), evaluate, grid, temperature_K, md, seed. Outputs: result (JSON).
Wildcards: tested, condition.
"""

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import RDFSettings, reference_rdf
from ffdiff.potentials.models import load_model
from ffdiff.fitting.stability import md_runs
from ffdiff.md import MDSettings
from ffdiff.statistics import summarise
from ffdiff.potentials import get_potential
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    if params.teacher is not None:
        potential = get_potential(params.teacher["potential"])
        weights = potential.params(params.teacher["params"])
    else:
        potential, weights, _ = load_model(inputs.model)
    trajectory, grid, settings = Dataset.load(inputs.trajectory), RDFSettings(**params.grid), params.evaluate
    g_ref = reference_rdf(trajectory, grid)
    md = MDSettings.from_blocks(params.md, settings, temperature_K=params.temperature_K)
    runs = md_runs(potential, weights, trajectory.positions, trajectory.cells[0], g_ref, grid.grid, md,
                   sigma=grid.sigma, n_runs=settings["n_runs"], seed=params.seed, skin=settings["skin"],
                   min_distance=settings["min_distance"], dtype=settings["dtype"])
    summary = summarise(runs)
    write_json(outputs.result, {"model": wildcards.tested, "condition": wildcards.condition,
                                "temperature_K": params.temperature_K, "n_steps": md.n_steps,
                                "r": grid.grid, "g_ref": g_ref, "runs": runs, "summary": summary})
    logger.info("%d/%d runs stable (interval %.2f-%.2f), median failed step %s, RDF MSE %.3g, phase %s",
                summary["n_stable"], summary["n_runs"], summary["survival_low"], summary["survival_high"],
                summary["median_failed_step"], summary["rdf_mse_mean"], summary["phase"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
