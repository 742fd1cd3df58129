"""Config validation, config providers, resource and path helpers shared by every stage."""

import re
from pathlib import Path

from snakemake.utils import validate

import ffdiff
from ffdiff.study.config import check_config
from ffdiff.data.archive import redact_url

validate(config, schema="../schemas/config.schema.yaml", set_default=True)
check_config(config)


def canonical(value):
    """``value`` with every mapping's keys sorted: Snakemake compares params by their text, so key
    order in a config file must not rerun anything."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def cfg(*keys):
    """The config value at ``keys``; use in ``params:`` so a change reruns the rule."""
    value = config
    for key in keys:
        value = value[key]
    return canonical(value)


def get_gnn_model():
    """``gnn.model`` reduced to the chosen kind and its block, so editing the other kind's settings
    reruns nothing."""
    model = cfg("gnn", "model")
    return {"kind": model["kind"], model["kind"]: model[model["kind"]]}


def training_threads(*keys):
    """XLA threads of a GNN training job: two once its batches hold 32 frames or more (the default
    config's 64 train 1.8 times as fast per pretraining epoch on two as on one), else one. Small
    batches leave the second thread all but idle outside compilation, and a job holding two cores
    keeps every other job waiting: the smoke config (8-16 frames) runs 10-15 s sooner on one.
    --cores caps it, and a profile's set-threads overrides it (profiles/slurm)."""
    return 2 if cfg(*keys)["batch_size"] >= 32 else 1


POTENTIALS = sorted(config["potentials"])
REFERENCE = "resources/reference/vasp"
PAPER = "resources/reference/paper"


def one_of(values):
    """A wildcard constraint matching exactly one of ``values``."""
    return "|".join(re.escape(value) for value in values)


ALL_PARAMETER_OBJECTIVES = config["fits"]["all_parameters"]["objectives"]
ALL_PARAMETER_POTENTIALS = config["fits"]["all_parameters"]["potentials"]


wildcard_constraints:
    potential=one_of(POTENTIALS),
    objective=one_of(
        dict.fromkeys([*config["fits"]["objectives"], *ALL_PARAMETER_OBJECTIVES])
    ),


def get_fit_records(potential=None):
    """fits.json of every fit (the configured parameters' and the all-parameter ones) of
    ``potential``, or of every potential."""
    potentials = POTENTIALS if potential is None else [potential]
    return [
        *expand(
            "results/fits/{objective}/{potential}/fits.json",
            objective=config["fits"]["objectives"],
            potential=potentials,
        ),
        *expand(
            "results/fits_all/{objective}/{potential}/fits.json",
            objective=ALL_PARAMETER_OBJECTIVES,
            potential=[p for p in potentials if p in ALL_PARAMETER_POTENTIALS],
        ),
    ]


def get_vasprun_count():
    if config["reference"]["source"] == "local":
        return len(config["reference"]["local"]["vasprun"])
    return 1


def get_reference_files():
    """The normalised reference folder: the same names whatever the source. The ``paper`` source
    ships force constants of a perfect supercell instead of displaced runs."""
    if config["reference"]["source"] == "paper":
        return {"unitcell": f"{PAPER}/POSCAR-unitcell", "supercell": f"{PAPER}/SPOSCAR"}
    return {
        "unitcell": f"{REFERENCE}/POSCAR-unitcell",
        "displacements": f"{REFERENCE}/displacements.yaml",
        "vasprun": [
            f"{REFERENCE}/vasprun-{k:03d}.xml"
            for k in range(1, get_vasprun_count() + 1)
        ],
    }


def get_params_file(wildcards):
    """The potential's starting parameter file, as a named input when config gives one."""
    path = config["potentials"][wildcards.potential]["params_file"]
    return {"params_file": path} if path else {}


def potential_cfg(key):
    """Provider of a per-potential config value (``potentials.<potential>.<key>``)."""
    return lambda wildcards: canonical(config["potentials"][wildcards.potential][key])


FIT_TABLES = {
    "elastic_fit": ["elastic_standard", "elastic_paper"],
    "phonon_fit": ["phonon"],
    "multi_fit": ["multi"],
}


def get_fit_objectives(table):
    return [o for o in FIT_TABLES[table] if o in config["fits"]["objectives"]]


PHONON_OBJECTIVES = ("phonon", "multi")


def get_plot_inputs(wildcards):
    """A fit's record, and for force-constant fits its phonon properties."""
    inputs = {
        "fits": "results/fits/{objective}/{potential}/fits.json".format(**wildcards)
    }
    if wildcards.objective in PHONON_OBJECTIVES:
        inputs["phonons"] = "results/fits/{objective}/{potential}/phonons.json".format(
            **wildcards
        )
    return inputs


def get_fit_tables():
    return [
        f"results/tables/{table}.csv"
        for table in FIT_TABLES
        if get_fit_objectives(table)
    ]


def get_fit_figures():
    figures = []
    for potential in POTENTIALS:
        kinds = ["loss", "properties"]
        fitted = config["potentials"][potential]["fitted"]
        if fitted != "all" and len(fitted) == 2:  # "all" is never a pair
            kinds.append("landscape")
        figures += expand(
            "results/figures/{kind}_{objective}_{potential}.{ext}",
            kind=kinds,
            objective=config["fits"]["objectives"],
            potential=potential,
            ext=["png", "pdf"],
        )
    return figures


def get_pareto_outputs():
    """The Pareto fronts' table and figures (every potential)."""
    return [
        "results/tables/pareto.csv",
        *expand(
            "results/figures/pareto_{potential}.{ext}",
            potential=POTENTIALS,
            ext=["png", "pdf"],
        ),
    ]


def get_paper_source_shown():
    """The paper source's base URL for messages: credentials redacted, braces kept from formatting."""
    shown = redact_url(config["reference"]["paper"]["base_url"])
    return shown.replace("{", "{{").replace("}", "}}")


def get_phonon_origin():
    """How the DFT force constants are obtained (the ``paper`` source ships them)."""
    if config["reference"]["source"] == "paper":
        return "force_constants"
    return config["reference"]["phonons"]["from"]


def get_phonon_inputs(wildcards):
    """Inputs of the DFT force constants: the reference files, plus FORCE_SETS/FORCE_CONSTANTS."""
    inputs = get_reference_files()
    if config["reference"]["source"] == "paper":
        return inputs | {"file": f"{PAPER}/FORCE_CONSTANTS"}
    phonons = config["reference"]["phonons"]
    if phonons["from"] != "vasprun":
        inputs = {k: v for k, v in inputs.items() if k != "vasprun"} | {
            "file": phonons["file"]
        }
    return inputs


def get_elastic_inputs(wildcards):
    reference = config["elastic"]["reference"]
    if reference["from"] == "outcar":
        return {"outcar": reference["outcar"]}
    if reference["from"] == "strained":
        return {
            "equilibrium": reference["strained"]["equilibrium"],
            "strained": reference["strained"]["runs"],
        }
    return {}


def share_tag(share):
    """The arm name of an RDF share: 0.3 -> ft_rdf_30 (percent of the loss at the start)."""
    return f"ft_rdf_{round(100 * share):d}"


# Fine-tuning arms: both continue from ft_start (the converged energy/force fine-tuning) with the same
# data, epochs, schedule and seed; ft adds nothing, each ft_rdf_<pct> an RDF term that is <pct> % of
# the loss at the start.
GNN_SHARES = {"ft": 0.0} | {share_tag(s): s for s in config["gnn"]["rdf"]["shares"]}
GNN_ARMS = list(GNN_SHARES)
GNN_MODELS = ["pretrained", "ft_start", *GNN_ARMS]  # the trained models
GNN_TESTED = ["teacher", "pretrained", *GNN_ARMS]  # the models of the MD tests
GNN_CONDITIONS = sorted(config["gnn"]["trajectories"]["conditions"])


wildcard_constraints:
    model=one_of(GNN_MODELS),
    tested=one_of(GNN_TESTED),
    arm=one_of(GNN_ARMS),
    condition=one_of(GNN_CONDITIONS),


def get_snapshot_files():
    """``gnn.snapshots.files`` with each aselmdb folder replaced by its ``*.aselmdb`` shards, so that
    Snakemake tracks (and its cache hashes) files; a folder without shards stays, for the reader to
    refuse by name."""
    files = []
    for path in config["gnn"]["snapshots"]["files"]:
        shards = sorted(Path(path).glob("*.aselmdb")) if Path(path).is_dir() else []
        files += [str(shard) for shard in shards] or [path]
    return files


def gnn_condition_cfg(wildcards):
    """Settings of one reference trajectory (``gnn.trajectories.conditions.<condition>``)."""
    return canonical(config["gnn"]["trajectories"]["conditions"][wildcards.condition])


def gnn_trajectory_of(key):
    """The trajectory file of the condition named at ``gnn.trajectories.<key>``."""
    name = config["gnn"]["trajectories"][key] or config["gnn"]["trajectories"]["train"]
    if name not in GNN_CONDITIONS:
        raise ValueError(
            f"gnn.trajectories.{key} = {name!r} is not among the conditions {GNN_CONDITIONS}"
        )
    return f"resources/gnn/trajectory_{name}.npz"


def get_gnn_train_trajectory():
    return gnn_trajectory_of("train")


def get_gnn_rdf_target():
    return gnn_trajectory_of("rdf_target")


def get_gnn_rdf_temperature():
    trajectories = config["gnn"]["trajectories"]
    name = trajectories["rdf_target"] or trajectories["train"]
    return trajectories["conditions"][name]["temperature_K"]


def get_gnn_tested_model(wildcards):
    """The tested model's file (none for the teacher, a potential of the library)."""
    if wildcards.tested == "teacher":
        return []
    return f"results/gnn/{wildcards.tested}/model.npz"


def get_gnn_tests():
    return expand(
        "results/gnn/{tested}/md_{condition}.json",
        tested=GNN_TESTED,
        condition=GNN_CONDITIONS,
    )


def get_variant_params_files(wildcards):
    """The starting parameter files of the potentials that config gives one, named
    ``params_file_<potential>`` (multi_variants fits every potential in one job)."""
    return {
        f"params_file_{name}": config["potentials"][name]["params_file"]
        for name in POTENTIALS
        if config["potentials"][name].get("params_file")
    }


def get_variant_potentials():
    """Per potential: its fitted parameters, lattice constant and parameter overrides."""
    keys = ("fitted", "lattice_constant", "params")
    return {
        name: canonical({key: config["potentials"][name][key] for key in keys})
        for name in POTENTIALS
    }


def get_table7():
    """The paper's Table 7 optimum of each potential it covers, ``{potential: {parameter: value}}``."""
    table7 = config["fits"]["table7"]
    return canonical({name: table7[name] for name in POTENTIALS if name in table7})


def get_final_output():
    return [
        "results/tables/gnn_metrics.md",
        "results/tables/gnn_stability.md",
        "results/figures/gnn_rdf.png",
        "results/tables/potentials_check.md",
        "results/tables/fit_summary.md",
        "results/tables/lammps_check.csv",
        "results/tables/uncertainty.csv",
        "results/tables/multi_variants.csv",
        "results/figures/multi_variants.png",
        "results/figures/multi_variants.pdf",
        *get_fit_tables(),
        *get_fit_figures(),
        *get_pareto_outputs(),
    ]


def code_version():
    """ffdiff's version, a digest of its source, and the versions of the packages behind its numbers.
    It is a param of every computing rule, so a change of library code or an upgrade reruns what
    was computed with it; it keys the between-workflow cache (which hashes the script, params and raw
    inputs, but not the library the script imports); and a job refuses to run another ffdiff.
    """
    from importlib.metadata import version

    from ffdiff.runtime.provenance import source_digest

    packages = (
        "jax",
        "jaxlib",
        "numpy",
        "scipy",
        "ase",
        "vesin",
        "phonopy",
        "pymatgen",
        "lammps",
        "pymoo",
    )
    return {"ffdiff": ffdiff.__version__, "ffdiff_source": source_digest()} | {
        name: version(name) for name in packages
    }


CODE_VERSION = code_version()
