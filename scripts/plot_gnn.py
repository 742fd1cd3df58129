"""Figures of the GNN chain: RDFs of every model against the reference per condition (paper Fig. 4),
and the training curves.

Inputs: tests (JSON per model × condition), histories (JSON per model). Params: models, conditions,
label. Outputs: rdf, losses (PNG and PDF each).
"""

import json
from pathlib import Path

from ffdiff import plotting
from ffdiff.results import read_md_tests
from ffdiff.workflow import start_job


def run(inputs, params, outputs) -> None:
    tests = read_md_tests(inputs.tests)
    histories = {m: json.loads(Path(p).read_text()) for m, p in zip(params.models, inputs.histories, strict=True)}
    plotting.save(plotting.gnn_rdfs(tests, models=params.models, conditions=params.conditions,
                                    reference_label=params.label), outputs.rdf)
    plotting.save(plotting.gnn_losses(histories), outputs.losses)
    logger.info("wrote %s and %s", list(outputs.rdf), list(outputs.losses))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
