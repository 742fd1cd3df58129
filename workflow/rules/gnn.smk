"""GNN stage: teacher reference data, pretraining of the GNN (gnn.model.kind: the MPGNN or jax-md's
EnergyGraphNet), energy/force and RDF fine-tuning, MD tests."""

GNN = "resources/gnn"

# Teacher data and pretraining are deterministic and expensive, so they are eligible for Snakemake's
# between-workflow cache (`--cache`; key: script, params including CODE_VERSION, raw inputs). Snakemake
# forbids a benchmark file on a cacheable rule: their logs end with wall time and peak memory instead.
# The chain teacher data -> pretraining -> fine-tuning is the study's critical path: whenever one of
# its jobs can start it goes before the classical fits (priority), which fill the remaining cores.


rule gnn_snapshots:
    input:
        files=get_snapshot_files(),
    output:
        dataset=f"{GNN}/snapshots.npz",
        metadata=f"{GNN}/snapshots.json",
    log:
        "logs/gnn_snapshots.log",
    cache: "omit-software"
    priority: 1
    conda:
        "../envs/ffdiff.yaml"
    params:
        teacher=cfg("gnn", "teacher"),
        md=cfg("gnn", "md"),
        snapshots=cfg("gnn", "snapshots"),
        seed=cfg("gnn", "seed"),
        code_version=CODE_VERSION,
    message:
        "Energy/force snapshots for pretraining"
    script:
        "../../scripts/gnn_snapshots.py"


rule gnn_trajectory:
    input:
        files=lambda wildcards: (
            [f] if (f := gnn_condition_cfg(wildcards)["file"]) else []
        ),
    output:
        dataset=f"{GNN}/trajectory_{{condition}}.npz",
        metadata=f"{GNN}/trajectory_{{condition}}.json",
    log:
        "logs/gnn_trajectory/{condition}.log",
    cache: "omit-software"
    priority: 1
    conda:
        "../envs/ffdiff.yaml"
    params:
        teacher=cfg("gnn", "teacher"),
        md=cfg("gnn", "md"),
        condition=gnn_condition_cfg,
        times=lambda wildcards: {
            k: config["gnn"]["trajectories"][k]
            for k in ("equilibration_fs", "production_fs", "sample_every_fs")
        },
        seed=cfg("gnn", "seed"),
        code_version=CODE_VERSION,
    message:
        "Reference NVT trajectory at {wildcards.condition}"
    script:
        "../../scripts/gnn_trajectory.py"


rule gnn_pretrain:
    input:
        snapshots=f"{GNN}/snapshots.npz",
    output:
        model="results/gnn/pretrained/model.npz",
        history="results/gnn/pretrained/history.json",
    log:
        "logs/gnn_pretrain.log",
    cache: "omit-software"
    priority: 1
    conda:
        "../envs/ffdiff.yaml"
    threads: training_threads("gnn", "pretrain")
    params:
        model=get_gnn_model(),
        training=cfg("gnn", "pretrain"),
        split=cfg("gnn", "split"),
        seed=cfg("gnn", "seed"),
        code_version=CODE_VERSION,
    message:
        "Pretraining the GNN on the snapshot energies and forces"
    script:
        "../../scripts/gnn_pretrain.py"


rule gnn_finetune:
    input:
        model="results/gnn/pretrained/model.npz",
        trajectory=get_gnn_train_trajectory(),
    output:
        model="results/gnn/ft_start/model.npz",
        history="results/gnn/ft_start/history.json",
    log:
        "logs/gnn_finetune.log",
    benchmark:
        "results/benchmarks/gnn_finetune.tsv"
    priority: 1
    conda:
        "../envs/ffdiff.yaml"
    threads: training_threads("gnn", "finetune")
    params:
        training=cfg("gnn", "finetune"),
        split=cfg("gnn", "split"),
        seed=cfg("gnn", "seed"),
        code_version=CODE_VERSION,
    message:
        "Fine-tuning the GNN on energies and forces to convergence (the start of every arm)"
    script:
        "../../scripts/gnn_finetune.py"


rule gnn_rdf:
    input:
        model="results/gnn/ft_start/model.npz",
        trajectory=get_gnn_train_trajectory(),
        target=get_gnn_rdf_target(),
    output:
        model="results/gnn/{arm}/model.npz",
        history="results/gnn/{arm}/history.json",
    log:
        "logs/gnn_rdf/{arm}.log",
    benchmark:
        "results/benchmarks/gnn_rdf/{arm}.tsv"
    priority: 1
    conda:
        "../envs/ffdiff.yaml"
    threads: training_threads("gnn", "rdf", "training")
    params:
        share=lambda wildcards: GNN_SHARES[wildcards.arm],
        rdf=cfg("gnn", "rdf"),
        grid=cfg("gnn", "rdf_grid"),
        md=cfg("gnn", "md"),
        temperature_K=get_gnn_rdf_temperature(),
        split=cfg("gnn", "split"),
        seed=cfg("gnn", "seed"),
        code_version=CODE_VERSION,
    message:
        "Continuing the fine-tuning: arm {wildcards.arm} (RDF term through MD: share {params.share} of the loss)"
    script:
        "../../scripts/gnn_rdf.py"


rule gnn_arms:
    input:
        expand("results/gnn/{arm}/model.npz", arm=GNN_ARMS),


rule gnn_errors:
    input:
        model="results/gnn/{model}/model.npz",
        trajectory=get_gnn_train_trajectory(),
        snapshots=f"{GNN}/snapshots.npz",
    output:
        errors="results/gnn/{model}/errors.json",
    log:
        "logs/gnn_errors/{model}.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        split=cfg("gnn", "split"),
        seed=cfg("gnn", "seed"),
        code_version=CODE_VERSION,
    message:
        "Energy and force errors of {wildcards.model}"
    script:
        "../../scripts/gnn_errors.py"


rule gnn_md_test:
    input:
        model=get_gnn_tested_model,
        trajectory=f"{GNN}/trajectory_{{condition}}.npz",
    output:
        result="results/gnn/{tested}/md_{condition}.json",
    log:
        "logs/gnn_md_test/{tested}/{condition}.log",
    benchmark:
        "results/benchmarks/gnn_md_test/{tested}/{condition}.tsv"
    conda:
        "../envs/ffdiff.yaml"
    params:
        teacher=lambda wildcards: (
            cfg("gnn", "teacher") if wildcards.tested == "teacher" else None
        ),
        evaluate=cfg("gnn", "evaluate"),
        grid=cfg("gnn", "rdf_grid"),
        md=cfg("gnn", "md"),
        temperature_K=lambda wildcards: gnn_condition_cfg(wildcards)["temperature_K"],
        seed=cfg("gnn", "seed"),
        code_version=CODE_VERSION,
    message:
        "Replicated MD tests of {wildcards.tested} at {wildcards.condition}"
    script:
        "../../scripts/gnn_md_test.py"


rule gnn_metrics:
    input:
        errors=expand("results/gnn/{model}/errors.json", model=GNN_MODELS),
        histories=expand("results/gnn/{model}/history.json", model=GNN_MODELS),
    output:
        csv=report(
            "results/tables/gnn_metrics.csv",
            caption="../report/gnn_metrics.rst",
            category="GNN",
        ),
        markdown="results/tables/gnn_metrics.md",
        training=report(
            "results/tables/gnn_training.csv",
            caption="../report/gnn_training.rst",
            category="GNN",
        ),
    log:
        "logs/gnn_metrics.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        models=GNN_MODELS,
        label=cfg("gnn", "teacher", "label"),
    message:
        "Tabulating the GNN energy/force errors and training"
    script:
        "../../scripts/gnn_metrics.py"


rule gnn_stability:
    input:
        tests=get_gnn_tests(),
        histories=expand("results/gnn/{arm}/history.json", arm=GNN_ARMS),
    output:
        csv=report(
            "results/tables/gnn_stability.csv",
            caption="../report/gnn_stability.rst",
            category="GNN",
        ),
        comparison=report(
            "results/tables/gnn_comparison.csv",
            caption="../report/gnn_comparison.rst",
            category="GNN",
        ),
        markdown="results/tables/gnn_stability.md",
    log:
        "logs/gnn_stability.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        tested=GNN_TESTED,
        arms=GNN_ARMS,
        conditions=GNN_CONDITIONS,
        reference=lambda wildcards: config["gnn"]["trajectories"]["rdf_target"]
        or config["gnn"]["trajectories"]["train"],
        label=cfg("gnn", "teacher", "label"),
    message:
        "Stability statistics and the arm comparison"
    script:
        "../../scripts/gnn_stability.py"


rule plot_gnn:
    input:
        tests=get_gnn_tests(),
        histories=expand("results/gnn/{model}/history.json", model=GNN_MODELS),
    output:
        rdf=report(
            multiext("results/figures/gnn_rdf", ".png", ".pdf"),
            caption="../report/gnn_rdf.rst",
            category="GNN",
        ),
        survival=report(
            multiext("results/figures/gnn_survival", ".png", ".pdf"),
            caption="../report/gnn_survival.rst",
            category="GNN",
        ),
        failed=report(
            multiext("results/figures/gnn_failed_rdf", ".png", ".pdf"),
            caption="../report/gnn_failed_rdf.rst",
            category="GNN",
        ),
        losses=report(
            multiext("results/figures/gnn_losses", ".png", ".pdf"),
            caption="../report/gnn_losses.rst",
            category="GNN",
        ),
    log:
        "logs/plot_gnn.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        tested=GNN_TESTED,
        models=GNN_MODELS,
        conditions=GNN_CONDITIONS,
        label=cfg("gnn", "teacher", "label"),
    message:
        "Figures of the GNN chain"
    script:
        "../../scripts/plot_gnn.py"


rule evaluate:
    input:
        "results/tables/gnn_metrics.csv",
        "results/tables/gnn_stability.csv",
        rules.plot_gnn.output,
