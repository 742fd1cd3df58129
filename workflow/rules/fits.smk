"""Fits stage: SW, EDIP and Tersoff fitted to DFT elastic constants, force constants, and both."""


rule elastic_reference:
    input:
        unpack(get_elastic_inputs),
    output:
        elastic="resources/reference/elastic.json",
    log:
        "logs/elastic_reference.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        c11=cfg("elastic", "reference", "C11"),
        c12=cfg("elastic", "reference", "C12"),
        c44=cfg("elastic", "reference", "C44"),
        source=cfg("elastic", "reference", "source"),
        origin=cfg("elastic", "reference", "from"),
        code_version=CODE_VERSION,
    message:
        "Writing the DFT elastic reference"
    script:
        "../../scripts/elastic_reference.py"


rule dft_force_constants:
    input:
        unpack(get_phonon_inputs),
    output:
        phonopy="resources/reference/phonopy_params.yaml",
    log:
        "logs/dft_force_constants.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        element=cfg("reference", "element"),
        origin=get_phonon_origin(),
        code_version=CODE_VERSION,
    message:
        "DFT force constants from {params.origin} (phonopy)"
    script:
        "../../scripts/dft_force_constants.py"


rule fit:
    input:
        unpack(get_params_file),
        elastic="resources/reference/elastic.json",
        phonopy="resources/reference/phonopy_params.yaml",
    output:
        fits="results/fits/{objective}/{potential}/fits.json",
        params="results/fits/{objective}/{potential}/params.json",
        lammps="results/fits/{objective}/{potential}/Si.{potential}",
    log:
        "logs/fit/{objective}_{potential}.log",
    benchmark:
        "results/benchmarks/fit/{objective}_{potential}.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        fitted=potential_cfg("fitted"),
        lattice_constant=potential_cfg("lattice_constant"),
        overrides=potential_cfg("params"),
        element=cfg("reference", "element"),
        optimizers=cfg("fits", "optimizers"),
        n_starts=cfg("fits", "n_starts"),
        seed=cfg("fits", "seed"),
        spread=cfg("fits", "start_spread"),
        maxiter=cfg("fits", "maxiter"),
        regularization=cfg("fits", "regularization"),
        geometry=cfg("fits", "geometry"),
        targets=cfg("fits", "targets"),
        weights=lambda wildcards: (
            cfg("fits", "weights") if wildcards.objective == "multi" else None
        ),
        code_version=CODE_VERSION,
    message:
        "Fitting {wildcards.potential} to {wildcards.objective}"
    script:
        "../../scripts/fit.py"


use rule fit as fit_all_parameters with:
    output:
        fits="results/fits_all/{objective}/{potential}/fits.json",
        params="results/fits_all/{objective}/{potential}/params.json",
        lammps="results/fits_all/{objective}/{potential}/Si.{potential}",
    log:
        "logs/fit_all_parameters/{objective}_{potential}.log",
    benchmark:
        "results/benchmarks/fit_all_parameters/{objective}_{potential}.tsv"
    params:
        fitted="all",
        lattice_constant=potential_cfg("lattice_constant"),
        overrides=potential_cfg("params"),
        element=cfg("reference", "element"),
        optimizers=cfg("fits", "all_parameters", "optimizers"),
        n_starts=cfg("fits", "all_parameters", "n_starts"),
        seed=cfg("fits", "seed"),
        spread=cfg("fits", "start_spread"),
        maxiter=cfg("fits", "all_parameters", "maxiter"),
        weights=lambda wildcards: (
            cfg("fits", "all_parameters", "weights")
            if wildcards.objective == "multi"
            else None
        ),
        regularization=cfg("fits", "all_parameters", "regularization"),
        geometry=cfg("fits", "all_parameters", "geometry"),
        targets=cfg("fits", "targets"),
        code_version=CODE_VERSION,
    message:
        "Fitting every parameter of {wildcards.potential} to {wildcards.objective}"


rule fit_table:
    input:
        fits=lambda wildcards: expand(
            "results/fits/{objective}/{potential}/fits.json",
            objective=get_fit_objectives(wildcards.table),
            potential=POTENTIALS,
        ),
    output:
        csv=report(
            "results/tables/{table}.csv",
            caption="../report/fit_table.rst",
            category="Classical fits",
        ),
    log:
        "logs/fit_table/{table}.log",
    wildcard_constraints:
        table="|".join(FIT_TABLES),
    conda:
        "../envs/ffdiff.yaml"
    message:
        "Tabulating {wildcards.table}"
    script:
        "../../scripts/fit_table.py"


rule landscape:
    input:
        unpack(get_params_file),
        elastic="resources/reference/elastic.json",
        phonopy="resources/reference/phonopy_params.yaml",
        fits="results/fits/{objective}/{potential}/fits.json",
    output:
        grid="results/fits/{objective}/{potential}/landscape.npz",
        figures=report(
            multiext(
                "results/figures/landscape_{objective}_{potential}", ".png", ".pdf"
            ),
            caption="../report/landscape.rst",
            category="Classical fits",
            subcategory="{objective}",
        ),
    log:
        "logs/landscape/{objective}_{potential}.log",
    benchmark:
        "results/benchmarks/landscape/{objective}_{potential}.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        points=cfg("fits", "landscape", "points"),
        margin=cfg("fits", "landscape", "margin"),
        targets=cfg("fits", "targets"),
        lattice_constant=potential_cfg("lattice_constant"),
        overrides=potential_cfg("params"),
        element=cfg("reference", "element"),
        weights=lambda wildcards: (
            cfg("fits", "weights") if wildcards.objective == "multi" else None
        ),
        code_version=CODE_VERSION,
    message:
        "Loss landscape of {wildcards.potential} for {wildcards.objective}"
    script:
        "../../scripts/landscape.py"


rule phonon_properties:
    input:
        unpack(get_params_file),
        fits="results/fits/{objective}/{potential}/fits.json",
        phonopy="resources/reference/phonopy_params.yaml",
        uncertainty="results/fits/uncertainty/{potential}.json",
    output:
        phonons="results/fits/{objective}/{potential}/phonons.json",
    log:
        "logs/phonon_properties/{objective}_{potential}.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        lattice_constant=potential_cfg("lattice_constant"),
        overrides=potential_cfg("params"),
        element=cfg("reference", "element"),
        band_samples=cfg("fits", "uncertainty", "band_samples"),
        seed=cfg("fits", "seed"),
        code_version=CODE_VERSION,
    message:
        "Phonon dispersion, DOS and thermal properties of the {wildcards.objective} fit of {wildcards.potential}"
    script:
        "../../scripts/phonon_properties.py"


rule plot_fit:
    input:
        unpack(get_plot_inputs),
    output:
        loss=report(
            multiext("results/figures/loss_{objective}_{potential}", ".png", ".pdf"),
            caption="../report/loss.rst",
            category="Classical fits",
            subcategory="{objective}",
        ),
        properties=report(
            multiext(
                "results/figures/properties_{objective}_{potential}", ".png", ".pdf"
            ),
            caption="../report/properties.rst",
            category="Classical fits",
            subcategory="{objective}",
        ),
    log:
        "logs/plot_fit/{objective}_{potential}.log",
    conda:
        "../envs/ffdiff.yaml"
    message:
        "Figures of the {wildcards.objective} fit of {wildcards.potential}"
    script:
        "../../scripts/plot_fit.py"


rule fits_elastic:
    input:
        expand(
            "results/fits/{objective}/{potential}/fits.json",
            objective=get_fit_objectives("elastic_fit"),
            potential=POTENTIALS,
        ),


rule fits_phonon:
    input:
        expand(
            "results/fits/{objective}/{potential}/fits.json",
            objective=get_fit_objectives("phonon_fit"),
            potential=POTENTIALS,
        ),


rule fits_multi:
    input:
        expand(
            "results/fits/{objective}/{potential}/fits.json",
            objective=get_fit_objectives("multi_fit"),
            potential=POTENTIALS,
        ),


rule fit_summary:
    input:
        fits=expand(
            "results/fits/{objective}/{potential}/fits.json",
            potential=POTENTIALS,
            objective=config["fits"]["objectives"],
        ),
        uncertainty=expand(
            "results/fits/uncertainty/{potential}.json", potential=POTENTIALS
        ),
    output:
        markdown=report(
            "results/tables/fit_summary.md",
            caption="../report/fit_summary.rst",
            category="Classical fits",
        ),
    log:
        "logs/fit_summary.log",
    conda:
        "../envs/ffdiff.yaml"
    message:
        "Summarising the best fits"
    script:
        "../../scripts/fit_summary.py"


rule lammps_check:
    input:
        fits=get_fit_records(),
    output:
        csv=report(
            "results/tables/lammps_check.csv",
            caption="../report/lammps_check.rst",
            category="Classical fits",
        ),
    log:
        "logs/lammps_check.log",
    benchmark:
        "results/benchmarks/lammps_check.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        lattice_constants={
            name: config["potentials"][name]["lattice_constant"] for name in POTENTIALS
        },
        code_version=CODE_VERSION,
    message:
        "Re-evaluating every fitted parameter set in LAMMPS"
    script:
        "../../scripts/lammps_check.py"
