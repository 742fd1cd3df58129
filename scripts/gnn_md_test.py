"""MD test of one model at one condition: RDF against the teacher's, stability and failed step, and the
phase check (phase, MSD in Å², temperature drift in K; ``ffdiff.fitting.gnn.md_test``).

Inputs: model (.npz), trajectory (.npz, the teacher run at that condition). Params: evaluate, grid,
temperature_K, md, seed. Outputs: result (JSON). Wildcards: model, condition.
"""

from ffdiff.data.dataset import Dataset
from ffdiff.fitting.gnn import RDFSettings, load_model, md_test, reference_rdf
from ffdiff.workflow import start_job, write_json


def run(inputs, params, outputs) -> None:
    model, weights, _ = load_model(inputs.model)
    trajectory, grid, settings = Dataset.load(inputs.trajectory), RDFSettings(**params.grid), params.evaluate
    result = md_test(model, weights, trajectory.positions[0], trajectory.cells[0], reference_rdf(trajectory, grid),
                     grid, temperature_K=params.temperature_K, n_steps=settings["md_steps"],
                     ensemble=settings["ensemble"], dt=params.md["timestep_fs"], tau=params.md["tdamp_fs"],
                     record_every=settings["record_every"], skin=settings["skin"],
                     min_distance=settings["min_distance"], seed=params.seed)
    write_json(outputs.result, result)
    logger.info("stable %s (failed step %s), RDF MSE %s, phase %s (MSD %s Å², temperature drift %s K)",
                result["stable"], result["failed_step"], result.get("rdf_mse"), result["phase"], result["msd_A2"],
                result["temperature_drift_K"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
