"""Potentials stage: every classical potential evaluated on the reference structures."""


rule check_potential:
    input:
        unpack(get_params_file),
        structures="resources/reference/structures.traj",
    output:
        check="results/potentials/{potential}/check.json",
    log:
        "logs/check_potential/{potential}.log",
    benchmark:
        "results/benchmarks/check_potential/{potential}.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        overrides=potential_cfg("params"),
        element=cfg("reference", "element"),
        code_version=CODE_VERSION,
    message:
        "Evaluating {wildcards.potential} on the reference structures"
    script:
        "../../scripts/check_potential.py"


rule potentials_table:
    input:
        checks=expand("results/potentials/{potential}/check.json", potential=POTENTIALS),
    output:
        csv=report(
            "results/tables/potentials_check.csv",
            caption="../report/potentials_check.rst",
            category="Reference",
        ),
        markdown="results/tables/potentials_check.md",
    log:
        "logs/potentials_table.log",
    conda:
        "../envs/ffdiff.yaml"
    message:
        "Tabulating the potentials' checks against the DFT reference"
    script:
        "../../scripts/potentials_table.py"
