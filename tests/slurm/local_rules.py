"""Print the rules Snakemake runs in its own process, not as cluster jobs, one per line.

Usage: python tests/slurm/local_rules.py SNAKEFILE CONFIGFILE WORKDIR

Parses the workflow with Snakemake's API (nothing is run) and applies Snakemake's own test for a
cluster executor (``Workflow.is_local`` with a non-local executor): a rule outside any group that is
declared in ``localrules`` (or ``localrule: True``), or has no action (no shell, script, run, ...,
such as ``all``), or is a template-engine rule. The workflow decides, not the wording of its log.
"""

import contextlib
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings


def local_rules(snakefile: Path, configfile: Path, workdir: Path) -> list[str]:
    # Snakemake's API logs to stderr; stdout carries only the answer.
    with contextlib.redirect_stdout(sys.stderr), SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[configfile]),
            snakefile=snakefile,
            workdir=workdir,  # Snakemake writes its log under WORKDIR/.snakemake
        )
        workflow = workflow_api._workflow  # parsed and checked, as for --list-rules
        declared = workflow._localrules  # every name from `localrules:` directives and `localrule: True`
        return sorted(
            rule.name
            for rule in workflow.rules
            if rule.group is None and (rule.name in declared or rule.norun or rule.is_template_engine)
        )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    snakefile, configfile, workdir = (Path(arg).resolve() for arg in sys.argv[1:])
    names = local_rules(snakefile, configfile, workdir)
    if not names:
        sys.exit("no local rules found: expected at least the action-less rule 'all'")
    print("\n".join(names))
