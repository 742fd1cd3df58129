"""Readings of the paper's multi-objective loss, each fitted and compared with its Table 7."""


rule multi_variants:
    input:
        unpack(get_variant_params_files),
        elastic="resources/reference/elastic.json",
        phonopy="resources/reference/phonopy_params.yaml",
    output:
        csv=report(
            "results/tables/multi_variants.csv",
            caption="../report/multi_variants_table.rst",
            category="Classical fits",
        ),
        figure=report(
            multiext("results/figures/multi_variants", ".png", ".pdf"),
            caption="../report/multi_variants.rst",
            category="Classical fits",
        ),
    log:
        "logs/multi_variants.log",
    benchmark:
        "results/benchmarks/multi_variants.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        potentials=get_variant_potentials(),
        element=cfg("reference", "element"),
        table7=get_table7(),
        rtol=cfg("fits", "table7", "rtol"),
        source=cfg("fits", "table7", "source"),
        optimizers=cfg("fits", "variants", "optimizers"),
        gtol=cfg("fits", "variants", "gtol"),
        maxiter=cfg("fits", "maxiter"),
        weights={  # the paper's two-part loss: the scalar targets' weight is not Table 7's business
            "elastic": cfg("fits", "weights", "elastic"),
            "force_constants": cfg("fits", "weights", "force_constants"),
        },
        code_version=CODE_VERSION,
    message:
        "Fitting every reading of the multi-objective loss against Table 7"
    script:
        "../../scripts/multi_variants.py"
