"""Loss landscape over the two fitted parameters around the fits, with optimizer paths.

Inputs: fits, elastic, phonopy, params_file (optional). Params: points,
margin, lattice_constant, overrides, element, weights, targets. Outputs: grid (npz), figures (PNG, PDF).
Wildcards: objective, potential.
"""

import json
from pathlib import Path

import numpy as np

from ffdiff.study import plotting
from ffdiff.fitting.potential_fit import landscape_grid, load_reference
from ffdiff.potentials import starting_params
from ffdiff.study.jobs import start_job


def run(wildcards, inputs, params, outputs) -> None:
    fits = json.loads(Path(inputs.fits).read_text())
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    grid = landscape_grid(fits, load_reference(inputs.elastic, inputs.phonopy, params.targets),
                          lattice_constant=params.lattice_constant, points=params.points,
                          margin=params.margin, overrides=start, weights=params.weights)
    np.savez(outputs.grid, **grid)
    plotting.save(plotting.landscape(grid, fits), outputs.figures)
    logger.info("landscape of %s %s: min %.6g", wildcards.potential, wildcards.objective, grid["loss"].min())


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
