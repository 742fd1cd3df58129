"""Best fit per potential and objective, with the originals and DFT, as the results page's Markdown table.

Inputs: fits (fits.json files), uncertainty (one JSON list per potential: every fit's standard deviations,
shown as "value ± std"). Outputs: markdown.
"""

import json
from pathlib import Path

from ffdiff.study.report import fit_summary, to_markdown
from ffdiff.study.jobs import start_job


def run(inputs, outputs) -> None:
    errors = [entry for p in inputs.uncertainty for entry in json.loads(Path(p).read_text())]
    table = fit_summary([json.loads(Path(p).read_text()) for p in inputs.fits], errors)
    Path(outputs.markdown).write_text(to_markdown(table, digits=3))
    logger.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
