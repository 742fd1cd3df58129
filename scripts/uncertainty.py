"""Laplace covariance of one fit's best parameters and the delta-method errors of its properties.

Inputs: elastic (JSON), phonopy (phonopy_params.yaml), fits (fits.json), params_file (optional).
Params: lattice_constant, overrides, element, noise ({elastic_gpa, force_constants_ev_a2}).
Outputs: uncertainty (JSON). Wildcards: objective, potential.
"""

import json
from pathlib import Path

from ffdiff.fitting.potential_fit import load_reference
from ffdiff.fitting.uncertainty import fit_uncertainty
from ffdiff.potentials import starting_params
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    result = fit_uncertainty(
        json.loads(Path(inputs.fits).read_text()), load_reference(inputs.elastic, inputs.phonopy),
        lattice_constant=params.lattice_constant, sigma_elastic_gpa=params.noise["elastic_gpa"],
        sigma_force_constants_ev_a2=params.noise["force_constants_ev_a2"], overrides=start,
    )
    write_json(outputs.uncertainty, result)
    logger.info("parameters: %s", result["parameters"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
