"""ffdiff study: differentiable fits of Si force fields. Wiring only; stages live in workflow/rules."""

import os
import sys

from snakemake.utils import min_version

min_version("9.20")

# This checkout's library, for the Snakefile and, first on PYTHONPATH, for every job it starts (locally
# or through a cluster executor): an installed ffdiff of another checkout must not win the import. Jobs
# also refuse to run a library whose source differs from the one recorded in their params.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from ffdiff.study.jobs import put_first_on_job_path

put_first_on_job_path(os.path.join(workflow.basedir, "src"))


# A config file given with --configfile is the whole configuration (the schema's defaults fill the
# gaps), not a patch on config/config.yaml: a user can leave out a potential, condition or objective.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/reference.smk"
include: "workflow/rules/potentials.smk"
include: "workflow/rules/fits.smk"
include: "workflow/rules/pareto.smk"
include: "workflow/rules/variants.smk"
include: "workflow/rules/uncertainty.smk"
include: "workflow/rules/gnn.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.report.input,
        rules.results_page.output,
