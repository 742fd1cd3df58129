"""Energy/force snapshots for pretraining: your files if given, else the Cubuk et al. conditions run
with the teacher potential.

Inputs: files (optional; any format ffdiff.data.read_frames reads).
Params: teacher ({potential, params, label}), md ({timestep_fs, tdamp_fs, lattice_constant, melt_fs}),
snapshots ({conditions, equilibration_fs, production_fs, sample_every_fs, check_phase}), seed.
Outputs: dataset (.npz), metadata (JSON). A killed job resumes each run from its checkpoints
(ffdiff.study.jobs.job_checkpoints: kept only for this job's exact inputs, params and code).
"""

from ffdiff import Calculator
from ffdiff.data.teacher import Condition, teacher_dataset
from ffdiff.data.trajectories import dataset_from_files
from ffdiff.study.jobs import job_checkpoints, start_job, write_json


def run(inputs, params, outputs, checkpoints) -> None:
    if inputs.files:
        dataset = dataset_from_files(inputs.files)
        dataset.save(outputs.dataset)
        write_json(outputs.metadata, {"files": list(inputs.files), "frames": len(dataset)})
        logger.info("%d frames from %d files", len(dataset), len(inputs.files))
        return
    snapshots = params.snapshots
    dataset, metadata = teacher_dataset(
        Calculator(params.teacher["potential"], params.teacher["params"]),
        conditions=[Condition(**c) for c in snapshots["conditions"]], **params.md,
        equilibration_fs=snapshots["equilibration_fs"], production_fs=snapshots["production_fs"],
        sample_every_fs=snapshots["sample_every_fs"], seed=params.seed,
        source_prefix=f"teacher-{params.teacher['potential']}", check_phase=snapshots["check_phase"],
        checkpoint_dir=checkpoints,
    )
    dataset.save(outputs.dataset)
    write_json(outputs.metadata, {"teacher": params.teacher, "frames": len(dataset), "conditions": metadata})
    logger.info("%d frames from %s", len(dataset), params.teacher["label"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    with job_checkpoints(snakemake) as folder:  # noqa: F821
        run(snakemake.input, snakemake.params, snakemake.output, folder)  # noqa: F821
