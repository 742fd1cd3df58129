"""Figure of one potential's Pareto front: both losses, the paper's (1, 1) point, NSGA-II's front.

Inputs: front (pareto.json). Outputs: figure (PNG, PDF).
"""

import json
from pathlib import Path

from ffdiff.study import plotting
from ffdiff.study.jobs import start_job


def run(inputs, outputs) -> None:
    front = json.loads(Path(inputs.front).read_text())
    plotting.save(plotting.pareto_front(front), outputs.figure)
    logger.info("Pareto front of %s", front["potential"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
