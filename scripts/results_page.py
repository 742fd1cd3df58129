"""The results page (docs/results.md): the study's tables and links to its figures, in one Markdown file.

Inputs: potentials_check, fit_summary, gnn_metrics, gnn_stability (Markdown tables), figures.
Outputs: page.
"""

from pathlib import Path

from ffdiff.study.jobs import start_job
from ffdiff.study.pages import results_page

TABLES = ("potentials_check", "fit_summary", "gnn_metrics", "gnn_stability")


def run(inputs, outputs) -> None:
    tables = {name: Path(inputs[name]).read_text() for name in TABLES}
    Path(outputs.page).write_text(results_page(tables, inputs.figures))
    logger.info("wrote %s", outputs.page)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
