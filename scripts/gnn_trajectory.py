"""One reference NVT trajectory (RDF target or test): your file if given, else a teacher run from the
crystal, melted first if asked, equilibrated, then sampled; the phase it ends in is recorded.

Inputs: files (optional, one trajectory: an AIMD vasprun.xml with energies and forces, or positions
only, e.g. a VASP XDATCAR or an extxyz without forces; the metadata's "labelled" says which).
Params: teacher, md, condition ({temperature_K, repeat, melt_K}), times ({equilibration_fs,
production_fs, sample_every_fs}), seed. Outputs: dataset (.npz), metadata (JSON). Wildcards: condition.
A killed job resumes from its checkpoints (ffdiff.study.jobs.job_checkpoints).
"""

from ffdiff import Calculator
from ffdiff.data.teacher import Condition, phase_of, teacher_dataset
from ffdiff.data.trajectories import dataset_from_files
from ffdiff.study.jobs import job_checkpoints, start_job, write_json


def run(wildcards, inputs, params, outputs, checkpoints) -> None:
    if inputs.files:
        dataset = dataset_from_files(inputs.files, temperature=params.condition["temperature_K"],
                                     require_labels=False)
        dataset.save(outputs.dataset)
        write_json(outputs.metadata, {"file": inputs.files[0], "n_atoms": dataset.n_atoms, "frames": len(dataset),
                                      "labelled": dataset.labelled, "phase_found": phase_of(dataset.to_frames())})
        return
    condition, times = params.condition, params.times
    dataset, metadata = teacher_dataset(
        Calculator(params.teacher["potential"], params.teacher["params"]),
        conditions=[Condition(wildcards.condition, condition["temperature_K"], melt_K=condition["melt_K"])],
        **params.md, repeat=condition["repeat"], equilibration_fs=times["equilibration_fs"],
        production_fs=times["production_fs"], sample_every_fs=times["sample_every_fs"], seed=params.seed, source_prefix=f"teacher-{params.teacher['potential']}", check_phase=False,
        checkpoint_dir=checkpoints,
    )
    dataset.save(outputs.dataset)
    info = metadata[wildcards.condition]
    write_json(outputs.metadata, {"teacher": params.teacher, "n_atoms": dataset.n_atoms, **info})
    logger.info("%s: %d frames of %d atoms, ends %s", wildcards.condition, len(dataset), dataset.n_atoms,
                info["phase_found"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    with job_checkpoints(snakemake) as folder:  # noqa: F821
        run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output, folder)  # noqa: F821
