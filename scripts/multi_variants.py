"""Every reading of the paper's multi-objective loss (elastic convention x force-constant geometry x
plain or squared norms) fitted for each potential that Table 7 covers, against Table 7.

Inputs: elastic (JSON), phonopy (phonopy_params.yaml), params_file_<potential> (optional).
Params: potentials ({name: {fitted, lattice_constant, params}}), element, table7 ({name: {parameter:
value}}), rtol, source, optimizers, gtol, maxiter, weights.
Outputs: csv (one row per potential, variant and optimizer), figure (PNG, PDF).
"""

from ffdiff.fitting.potential_fit import load_reference
from ffdiff.fitting.variants import variant_rows
from ffdiff.potentials import starting_params
from ffdiff.study import plotting
from ffdiff.study.jobs import start_job
from ffdiff.study.report import variants_table


def run(inputs, params, outputs) -> None:
    potentials = {name: {"fitted": s["fitted"], "lattice_constant": s["lattice_constant"],
                         "overrides": starting_params(name, inputs.get(f"params_file_{name}"), s["params"],
                                                      params.element)}
                  for name, s in params.potentials.items()}
    logger.info("Table 7 from %s", params.source)
    rows = variant_rows(potentials, load_reference(inputs.elastic, inputs.phonopy), params.table7,
                        methods=params.optimizers, maxiter=params.maxiter, gtol=params.gtol, weights=params.weights,
                        rtol=params.rtol)
    table = variants_table(rows)
    table.to_csv(outputs.csv, index=False)
    plotting.save(plotting.multi_variants(table, params.rtol), outputs.figure)
    logger.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
