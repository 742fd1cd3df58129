"""Uncertainty stage: Laplace covariance of every fit's parameters and the properties' errors."""


rule uncertainty:
    input:
        unpack(get_params_file),
        elastic="resources/reference/elastic.json",
        phonopy="resources/reference/phonopy_params.yaml",
        fits=lambda wildcards: get_fit_records(wildcards.potential),
    output:
        uncertainty="results/fits/uncertainty/{potential}.json",
    log:
        "logs/uncertainty/{potential}.log",
    benchmark:
        "results/benchmarks/uncertainty/{potential}.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        lattice_constant=potential_cfg("lattice_constant"),
        overrides=potential_cfg("params"),
        element=cfg("reference", "element"),
        noise={  # the noise alone: fits.uncertainty.band_samples is the figures' business
            "elastic_gpa": cfg("fits", "uncertainty", "elastic_gpa"),
            "force_constants_ev_a2": cfg(
                "fits", "uncertainty", "force_constants_ev_a2"
            ),
        },
        prior_all=cfg("fits", "all_parameters", "prior_relative_std"),
        targets=cfg("fits", "targets"),
        code_version=CODE_VERSION,
    message:
        "Parameter uncertainty of every fit of {wildcards.potential}"
    script:
        "../../scripts/uncertainty.py"


rule uncertainty_table:
    input:
        uncertainty=expand(
            "results/fits/uncertainty/{potential}.json", potential=POTENTIALS
        ),
    output:
        csv=report(
            "results/tables/uncertainty.csv",
            caption="../report/uncertainty.rst",
            category="Classical fits",
        ),
    log:
        "logs/uncertainty_table.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        code_version=CODE_VERSION,
    message:
        "Tabulating the fitted parameters' and properties' uncertainties"
    script:
        "../../scripts/uncertainty_table.py"
