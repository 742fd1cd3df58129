"""Phonons of the original parameters, the best fit and DFT: dispersion, DOS, thermal properties, and
the fitted dispersion's 68 % band under the fit's Laplace posterior.

Inputs: fits, phonopy, uncertainty (the potential's JSON list, one entry per objective), params_file
(optional). Params: lattice_constant, overrides, element, band_samples, seed. Outputs: phonons (JSON).
Wildcards: objective, potential.
"""

import json
from pathlib import Path

import numpy as np

from ffdiff.data.phonopy import load_phonopy
from ffdiff.fitting.potential_fit import phonon_properties
from ffdiff.potentials import starting_params
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    fits = json.loads(Path(inputs.fits).read_text())
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    posterior = next(u for u in json.loads(Path(inputs.uncertainty).read_text()) if u["objective"] == fits["objective"])
    result = phonon_properties(fits, load_phonopy(inputs.phonopy), lattice_constant=params.lattice_constant,
                               overrides=start, laplace=posterior["laplace"], band_samples=params.band_samples,
                               seed=params.seed)
    write_json(outputs.phonons, result)
    logger.info("Γ frequencies (THz): %s", {k: v["frequencies"]["Gamma"][-1] for k, v in result.items()})
    band, fitted = result["fitted"]["band"], result["fitted"]["bands"]["frequencies"]
    lower, curve, upper = (np.concatenate(x) for x in (band["lower"], fitted, band["upper"]))
    # a fit outside its band: the posterior is truncated by a bound or the frequencies bend within it
    logger.info("68 %% band of the fit from %d samples: at most %.3g THz wide; the fit lies outside it by "
                "up to %.2g THz", band["samples"], np.max(upper - lower), max(np.max(lower - curve), np.max(curve - upper), 0.0))


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
