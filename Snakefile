"""ffdiff study: differentiable fits of Si force fields. Wiring only; stages live in workflow/rules."""

import os
import sys

from snakemake.utils import min_version

min_version("9.20")

# This checkout's library, for the Snakefile and (Snakemake passes sys.path on to script jobs)
# for jobs in a conda env that lacks it; a pip install of this checkout resolves to the same code.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/reference.smk"
include: "workflow/rules/potentials.smk"
include: "workflow/rules/fits.smk"
include: "workflow/rules/gnn.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.report.input,
