"""Figures of the GNN chain: mean RDFs of every model's stable runs against the reference per condition
(paper Fig. 4), survival curves of the replicated runs, the RDFs of failed runs before their failure,
and the training curves.

Inputs: tests (JSON per tested model × condition), histories (JSON per trained model). Params: tested,
models, conditions, label. Outputs: rdf, survival, failed, losses (PNG and PDF each).
"""

import json
from pathlib import Path

from ffdiff.study import plotting
from ffdiff.study.results import read_md_tests
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    tests = read_md_tests(inputs.tests)
    histories = {m: json.loads(Path(p).read_text()) for m, p in zip(params.models, inputs.histories, strict=True)}
    shown = {"models": params.tested, "conditions": params.conditions}
    plotting.save(plotting.gnn_rdfs(tests, **shown, reference_label=params.label), outputs.rdf)
    plotting.save(plotting.gnn_survival(tests, **shown), outputs.survival)
    plotting.save(plotting.gnn_failed_rdfs(tests, **shown, reference_label=params.label), outputs.failed)
    plotting.save(plotting.gnn_losses(histories), outputs.losses)
    logger.info("wrote %s", [list(o) for o in (outputs.rdf, outputs.survival, outputs.failed, outputs.losses)])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
