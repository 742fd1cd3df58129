"""Laplace covariance of the best parameters of every fit of one potential and the delta-method
errors of its properties (one job per potential: its objectives share the compiled programs).

Inputs: elastic (JSON), phonopy (phonopy_params.yaml), fits (fits.json of each objective),
params_file (optional). Params: lattice_constant, overrides, element, noise ({elastic_gpa,
force_constants_ev_a2}), prior_all (the relative prior width of all-parameter fits), targets. Outputs: uncertainty (JSON list, one entry per objective). Wildcards: potential.
"""

import json
from pathlib import Path

from ffdiff.fitting.potential_fit import load_reference
from ffdiff.fitting.uncertainty import fit_uncertainty
from ffdiff.potentials import starting_params
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    reference = load_reference(inputs.elastic, inputs.phonopy, params.targets)
    results = []
    for path in inputs.fits:
        fits = json.loads(Path(path).read_text())
        result = fit_uncertainty(
            fits, reference, lattice_constant=params.lattice_constant,
            sigma_elastic_gpa=params.noise["elastic_gpa"],
            sigma_force_constants_ev_a2=params.noise["force_constants_ev_a2"], overrides=start,
            prior_relative_std=params.prior_all if fits.get("all_parameters") else None,
        )
        logger.info("%s: parameters %s", result["objective"], result["parameters"])
        results.append(result)
    write_json(outputs.uncertainty, results)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
