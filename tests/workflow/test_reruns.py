"""Partial reruns, checked with dry runs on a complete smoke run: a change reruns exactly the jobs that
depend on it, and nothing else."""

import shutil

from run_workflow import ROOT, edited_config, planned_jobs, snakemake

from ffdiff.study.jobs import COMPILATION_CACHE

CONFIG = ROOT / "config/smoke.yaml"


def test_untouched_run_reruns_nothing(smoke_run):
    assert planned_jobs(smoke_run, CONFIG) == {}


def test_fit_weight_reruns_that_fit_and_its_dependants(smoke_run, tmp_path):
    def edit(config):
        config["fits"]["weights"]["force_constants"] = 2.0

    plan = planned_jobs(smoke_run, edited_config(tmp_path / "weights.yaml", edit))
    # the multi-objective fit of each potential and its landscape; the potential's uncertainty (one job
    # for all its fits), so the phonons (and their 68 % band) and figures of its phonon and multi fits;
    # the Table 7 variants (both weights); then the tables and page
    assert plan == {"fit": 2, "landscape": 2, "uncertainty": 2, "phonon_properties": 4, "plot_fit": 4,
                    "multi_variants": 1, "fit_table": 1, "uncertainty_table": 1, "fit_summary": 1,
                    "lammps_check": 1, "results_page": 1, "all": 1}, plan


def test_all_parameter_fits_join_the_checks_and_the_uncertainty(smoke_run, tmp_path):
    """Switching on fits.all_parameters adds one fit per potential beside the configured ones; the LAMMPS
    re-check and each potential's uncertainty take it in, and what depends on them reruns."""
    def edit(config):
        config["fits"]["all_parameters"] = {"objectives": ["multi"], "maxiter": 3}

    plan = planned_jobs(smoke_run, edited_config(tmp_path / "all.yaml", edit))
    assert plan == {"fit_all_parameters": 2, "lammps_check": 1, "uncertainty": 2, "uncertainty_table": 1,
                    "phonon_properties": 4, "plot_fit": 4, "fit_summary": 1, "results_page": 1, "all": 1}, plan


def test_gnn_learning_rate_reruns_nothing_classical(smoke_run, tmp_path):
    """The energy/force fine-tuning's learning rate: ft_start, the two arms that continue from it, their
    errors and MD tests (not the teacher's or the pretrained model's), the tables and figures."""
    def edit(config):
        config["gnn"]["finetune"]["learning_rate"] = 3e-4

    plan = planned_jobs(smoke_run, edited_config(tmp_path / "lr.yaml", edit))
    assert plan == {"gnn_finetune": 1, "gnn_rdf": 2, "gnn_errors": 3, "gnn_md_test": 2 * 3, "gnn_metrics": 1,
                    "gnn_stability": 1, "plot_gnn": 1, "results_page": 1, "all": 1}, plan


def test_new_ffdiff_version_reruns_every_computation_but_no_download(smoke_run, tmp_path):
    """The rules' params carry the library's version (a script's own code is already tracked by
    Snakemake): a new release recomputes, but does not refetch the DFT data."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for part in ("Snakefile", "workflow", "scripts", "src", "config"):
        copy = shutil.copy if (ROOT / part).is_file() else shutil.copytree
        copy(ROOT / part, checkout / part)
    init = checkout / "src/ffdiff/__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "99.'))
    plan = planned_jobs(smoke_run, CONFIG, "--rerun-triggers", "params", snakefile=checkout / "Snakefile")
    assert "download_phonopy_sdist" not in plan and "extract_phonopy_example" not in plan
    assert plan["fit"] == 6 and plan["check_potential"] == 2 and plan["gnn_pretrain"] == 1
    assert plan["gnn_snapshots"] == 1 and plan["gnn_md_test"] == 12


def test_a_fit_rerun_elsewhere_is_bit_identical(smoke_run, tmp_path, monkeypatch):
    """Same config, seed and software: the multi-start fit (float64) gives the same bytes, compiled
    afresh (its own, empty compilation cache)."""
    monkeypatch.setenv(COMPILATION_CACHE, str(tmp_path / "jax-cache"))
    shutil.copytree(smoke_run / "resources", tmp_path / "resources")  # keeps mtimes: nothing upstream reruns
    target = "results/fits/elastic_paper/sw/fits.json"
    snakemake(tmp_path, target, "--rerun-triggers", "mtime")
    assert (tmp_path / target).read_bytes() == (smoke_run / target).read_bytes()
