"""Phonons of the original parameters, the best fit and DFT: dispersion, DOS, thermal properties.

Inputs: fits, phonopy, params_file (optional). Params: lattice_constant, overrides, element.
Outputs: phonons (JSON). Wildcards: objective, potential.
"""

import json
from pathlib import Path

from ffdiff.data.phonopy import load_phonopy
from ffdiff.fitting.potential_fit import phonon_properties
from ffdiff.potentials import starting_params
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    fits = json.loads(Path(inputs.fits).read_text())
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    result = phonon_properties(fits, load_phonopy(inputs.phonopy), lattice_constant=params.lattice_constant,
                               overrides=start)
    write_json(outputs.phonons, result)
    logger.info("Γ frequencies (THz): %s", {k: v["frequencies"]["Gamma"][-1] for k, v in result.items()})


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
