"""Constraints between keys of the study's config, checked while the workflow is parsed.

The schema (workflow/schemas/config.schema.yaml) checks each key on its own; :func:`check_config` checks
what only several keys together decide, so that a config that would fail after an hour of jobs fails
before the first one. Each error names the config key to change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["check_config"]


def check_config(config: Mapping) -> None:
    """Refuse a schema-valid config whose keys contradict each other.

    Args:
        config: the study's config after schema validation with defaults filled in.

    Raises:
        ValueError: a constraint is violated; the message starts with the dotted config key.
    """
    if "fits" in config:
        _check_targets(config["fits"])
    if "gnn" in config:
        _check_gnn(config["gnn"])


def _check_targets(fits: Mapping) -> None:
    """An objective that uses the scalar targets has at least one."""
    uses = []
    for key, block in (("fits", fits), ("fits.all_parameters", fits["all_parameters"])):
        if "crystal" in block["objectives"]:
            uses.append(f"{key}.objectives has crystal")
        if "multi" in block["objectives"] and block.get("weights", {}).get("crystal", 0):
            uses.append(f"{key}.weights.crystal > 0")
    targets = fits.get("targets") or {}
    given = [k for k, v in targets.items() if v and (k != "phase_energy" or any(v.values()))]
    if uses and not given:
        raise ValueError(f"fits.targets: expected at least one scalar target ({'; '.join(uses)}), got none")


def _check_gnn(gnn: Mapping) -> None:
    split = [float(f) for f in gnn["split"]]
    if not math.isclose(sum(split), 1.0, abs_tol=1e-9):
        raise ValueError(f"gnn.split: expected train/validation/test fractions summing to 1, got {split} "
                         f"(sum {sum(split):g})")
    for key in ("rdf", "evaluate"):
        if gnn[key]["record_every"] > gnn[key]["n_steps"]:
            raise ValueError(f"gnn.{key}.record_every: expected at most gnn.{key}.n_steps = {gnn[key]['n_steps']} "
                             f"(no frame would be recorded), got {gnn[key]['record_every']}")
    _check_teacher_runs(gnn)
    _check_cells(gnn)
    _check_replicas(gnn)


def _check_replicas(gnn: Mapping) -> None:
    """The RDF target names a condition; teacher trajectories have frames enough for the replicas (a
    trajectory from a file is checked when it is read)."""
    trajectories = gnn["trajectories"]
    target = trajectories.get("rdf_target") or trajectories["train"]
    if target not in trajectories["conditions"]:
        raise ValueError(f"gnn.trajectories.rdf_target: {target!r} is not among the conditions "
                         f"{sorted(trajectories['conditions'])}")
    frames = int(trajectories["production_fs"] // trajectories["sample_every_fs"])
    if not trajectories["conditions"][target].get("file"):
        fewest = min(math.floor(float(f) * frames) for f in gnn["split"][:2])
        if gnn["rdf"]["replicas"] > fewest:
            raise ValueError(f"gnn.rdf.replicas: expected at most the {fewest} frames of the RDF target's smaller "
                             f"split (training or validation), got {gnn['rdf']['replicas']}")
    if any(not c.get("file") for c in trajectories["conditions"].values()) and gnn["evaluate"]["n_runs"] > frames:
        raise ValueError(f"gnn.evaluate.n_runs: expected at most the {frames} frames of a reference trajectory, "
                         f"got {gnn['evaluate']['n_runs']}")


def _check_teacher_runs(gnn: Mapping) -> None:
    """Names unique, durations on the time step, at least one frame per run (teacher runs only)."""
    snapshots, trajectories = gnn["snapshots"], gnn["trajectories"]
    names = [c["name"] for c in snapshots["conditions"]]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"gnn.snapshots.conditions: name {duplicates[0]!r} appears twice (names label the runs "
                         "and their checkpoint files)")
    melting = []
    if not snapshots["files"]:
        _check_durations("gnn.snapshots", snapshots, gnn["md"]["timestep_fs"])
        melting += [c["name"] for c in snapshots["conditions"] if c.get("melt_K") is not None]
    teacher = {name: c for name, c in trajectories["conditions"].items() if not c.get("file")}
    if teacher:
        _check_durations("gnn.trajectories", trajectories, gnn["md"]["timestep_fs"])
        melting += [name for name, c in teacher.items() if c.get("melt_K") is not None]
    melt_fs, timestep = gnn["md"]["melt_fs"], gnn["md"]["timestep_fs"]
    if melting and not (melt_fs > 0 and _is_multiple(melt_fs, timestep)):
        raise ValueError(f"gnn.md.melt_fs: expected a positive multiple of gnn.md.timestep_fs = {timestep} fs "
                         f"(conditions {', '.join(melting)} melt first), got {melt_fs}")


def _check_durations(key: str, settings: Mapping, timestep: float) -> None:
    for name in ("equilibration_fs", "sample_every_fs"):
        if not _is_multiple(settings[name], timestep):
            raise ValueError(f"{key}.{name}: expected a multiple of gnn.md.timestep_fs = {timestep} fs, "
                             f"got {settings[name]}")
    if settings["sample_every_fs"] > settings["production_fs"]:
        raise ValueError(f"{key}.sample_every_fs: expected at most {key}.production_fs = "
                         f"{settings['production_fs']} fs (no frame would be sampled), got {settings['sample_every_fs']}")


def _is_multiple(duration: float, timestep: float) -> bool:
    n = duration / timestep
    return math.isclose(n, round(n), abs_tol=1e-6)


def _check_cells(gnn: Mapping) -> None:
    """The smooth g(r) and the RDF fine-tuning's all-pairs list need their range within half the
    cell width of every teacher trajectory (cubic: repeat × lattice constant); a trajectory read from
    a file has its own cell, known only once read."""
    lattice_constant = gnn["md"]["lattice_constant"]
    conditions = gnn["trajectories"]["conditions"]

    def cell(name):
        repeat = conditions[name]["repeat"]
        return (f"trajectory {name} (repeat {repeat} × gnn.md.lattice_constant {lattice_constant:g} Å)",
                0.5 * repeat * lattice_constant)

    teacher = sorted((name for name, c in conditions.items() if not c.get("file")),
                     key=lambda name: (conditions[name]["repeat"], name))
    grid = gnn["rdf_grid"]
    if not grid["r_min"] < grid["r_max"]:
        raise ValueError(f"gnn.rdf_grid: expected r_min < r_max, got r_min = {grid['r_min']:g} Å and "
                         f"r_max = {grid['r_max']:g} Å")
    if teacher:
        where, half = cell(teacher[0])
        reach = grid["r_max"] + 4.0 * grid["sigma"]
        if reach > half + 1e-12:
            raise ValueError(f"gnn.rdf_grid: r_max + 4·sigma = {reach:g} Å exceeds {half:g} Å, half the cell width of "
                             f"{where}, the smallest cell an RDF is computed in")
    target = gnn["trajectories"].get("rdf_target") or gnn["trajectories"]["train"]
    if target in conditions and not conditions[target].get("file"):
        where, half = cell(target)
        kind = gnn["model"]["kind"]
        cutoff = gnn["model"][kind]["cutoff"]
        if cutoff > half:
            raise ValueError(f"gnn.model.{kind}.cutoff: {cutoff:g} Å exceeds {half:g} Å, half the cell "
                             f"width of the RDF target {where}, which the RDF fine-tuning's all-pairs list needs")
