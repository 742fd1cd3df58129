"""Reference stage: obtain DFT data into resources/reference/ under fixed names."""

# Downloads are local rules (they run where Snakemake runs): cluster compute nodes often have no network.


if config["reference"]["source"] == "phonopy_example":

    localrules:
        download_phonopy_sdist,

    rule download_phonopy_sdist:
        output:
            tarball="resources/downloads/phonopy-{version}.tar.gz",
        log:
            "logs/download_phonopy_sdist/{version}.log",
        conda:
            "../envs/ffdiff.yaml"
        message:
            "Fetching phonopy {wildcards.version}'s source distribution (ships VASP Si data)"
        script:
            "../../scripts/download_phonopy_sdist.py"

    rule extract_phonopy_example:
        input:
            tarball=f"resources/downloads/phonopy-{cfg('reference', 'phonopy_example', 'version')}.tar.gz",
        output:
            **get_reference_files(),
        log:
            "logs/extract_phonopy_example.log",
        conda:
            "../envs/ffdiff.yaml"
        params:
            sha256=cfg("reference", "phonopy_example", "sha256"),
            example=cfg("reference", "phonopy_example", "example"),
        message:
            "Extracting {params.example} (VASP PBE, diamond Si) from {input.tarball}"
        script:
            "../../scripts/extract_phonopy_example.py"

elif config["reference"]["source"] == "paper":

    localrules:
        download_paper_reference,

    rule download_paper_reference:
        output:
            **get_reference_files(),
            force_constants=f"{PAPER}/FORCE_CONSTANTS",
        log:
            "logs/download_paper_reference.log",
        conda:
            "../envs/ffdiff.yaml"
        params:
            urls=lambda wildcards: {
                key: f"{cfg('reference', 'paper', 'base_url')}/{path}"
                for key, path in cfg("reference", "paper", "files").items()
            },
            sha256=cfg("reference", "paper", "sha256"),
            supercell_matrix=cfg("reference", "paper", "supercell_matrix"),
        message:
            f"Downloading the authors' DFT force constants ({get_paper_source_shown()})"
        script:
            "../../scripts/download_paper_reference.py"

else:

    rule copy_local_reference:
        input:
            unitcell=cfg("reference", "local", "unitcell"),
            displacements=cfg("reference", "local", "displacements"),
            vasprun=cfg("reference", "local", "vasprun"),
        output:
            **get_reference_files(),
        log:
            "logs/copy_local_reference.log",
        conda:
            "../envs/ffdiff.yaml"
        params:
            element=cfg("reference", "element"),
        message:
            "Copying your VASP reference files into resources/reference/"
        script:
            "../../scripts/copy_local_reference.py"


rule reference_structures:
    input:
        **get_reference_files(),
    output:
        structures="resources/reference/structures.traj",
    log:
        "logs/reference_structures.log",
    conda:
        "../envs/ffdiff.yaml"
    params:
        element=cfg("reference", "element"),
        code_version=CODE_VERSION,
    message:
        "Reading the reference unit cell, supercell and DFT displaced supercells"
    script:
        "../../scripts/reference_structures.py"


rule reference:
    input:
        "resources/reference/structures.traj",
        "resources/reference/phonopy_params.yaml",
        "resources/reference/elastic.json",
        "resources/gnn/snapshots.npz",
        expand("resources/gnn/trajectory_{condition}.npz", condition=GNN_CONDITIONS),
