"""The replicated MD tests as tables: gnn_stability.csv (one row per model × condition, the teacher's
RDF error as the noise floor), gnn_comparison.csv (each RDF arm against ft, Holm-corrected tests and
verdicts), and a markdown page with both, the scale of a real structural difference and the verdicts.

Inputs: tests (JSON per tested model × condition), histories (JSON per arm). Params: tested, arms,
conditions, reference (the RDF target condition), label. Outputs: csv, comparison, markdown.
"""

import json
from pathlib import Path

from ffdiff.study.report import comparison_table, rdf_scales, stability_table, stability_page
from ffdiff.study.results import read_md_tests
from ffdiff.study.jobs import start_job


def run(inputs, params, outputs) -> None:
    tests = read_md_tests(inputs.tests)
    weights = {arm: json.loads(Path(p).read_text())["diagnostics"]["rdf_weight"]
               for arm, p in zip(params.arms, inputs.histories, strict=True)}
    table = stability_table(tests, tested=params.tested, conditions=params.conditions, weights=weights)
    table.to_csv(outputs.csv, index=False)
    comparison = comparison_table(tests, arms=params.arms, conditions=params.conditions, weights=weights)
    comparison.to_csv(outputs.comparison, index=False)
    scales = rdf_scales(tests, reference=params.reference, conditions=params.conditions)
    Path(outputs.markdown).write_text(stability_page(table, comparison, scales, reference=params.reference,
                                                     label=params.label))
    logger.info("\n%s\n%s", table, comparison)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
