"""Pareto stage: the trade-off between the elastic and force-constant losses of each potential, by
gradient continuation, against NSGA-II."""


rule pareto:
    input:
        unpack(get_params_file),
        elastic="resources/reference/elastic.json",
        phonopy="resources/reference/phonopy_params.yaml",
    output:
        front="results/fits/pareto/{potential}/pareto.json",
    log:
        "logs/pareto/{potential}.log",
    benchmark:
        "results/benchmarks/pareto/{potential}.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        fitted=potential_cfg("fitted"),
        lattice_constant=potential_cfg("lattice_constant"),
        overrides=potential_cfg("params"),
        element=cfg("reference", "element"),
        points=cfg("fits", "pareto", "points"),
        scalarization=cfg("fits", "pareto", "scalarization"),
        maxiter=cfg("fits", "pareto", "maxiter"),
        nsga2=cfg("fits", "pareto", "nsga2"),
        divisions=cfg("fits", "pareto", "divisions"),
        targets=cfg("fits", "targets"),
        code_version=CODE_VERSION,
    message:
        "Pareto front of {wildcards.potential}: elastic against force-constant loss"
    script:
        "../../scripts/pareto.py"


rule pareto_table:
    input:
        fronts=expand(
            "results/fits/pareto/{potential}/pareto.json", potential=POTENTIALS
        ),
    output:
        csv=report(
            "results/tables/pareto.csv",
            caption="../report/pareto_table.rst",
            category="Classical fits",
        ),
    log:
        "logs/pareto_table.log",
    conda:
        "../envs/ffdiff.yaml"
    message:
        "Tabulating the Pareto fronts"
    script:
        "../../scripts/pareto_table.py"


rule plot_pareto:
    input:
        front="results/fits/pareto/{potential}/pareto.json",
    output:
        figure=report(
            multiext("results/figures/pareto_{potential}", ".png", ".pdf"),
            caption="../report/pareto.rst",
            category="Classical fits",
            subcategory="pareto",
        ),
    log:
        "logs/plot_pareto/{potential}.log",
    conda:
        "../envs/ffdiff.yaml"
    message:
        "Figure of the Pareto front of {wildcards.potential}"
    script:
        "../../scripts/plot_pareto.py"
