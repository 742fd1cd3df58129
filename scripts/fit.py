"""Fit one potential to one objective with every optimizer from every start.

Inputs: elastic (JSON), phonopy (phonopy_params.yaml), params_file (optional).
Params: fitted (names or "all"), optimizers, n_starts, seed, spread, maxiter, lattice_constant, overrides,
element, weights, regularization, geometry, targets (fits.targets). Outputs: fits (JSON, all runs with histories), params (best, JSON),
lammps (best, LAMMPS).
Wildcards: objective, potential.
"""

from ffdiff.fitting.potential_fit import fit_potential, load_reference
from ffdiff.potentials import save_params, starting_params, write_lammps
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    result = fit_potential(
        wildcards.potential, wildcards.objective, load_reference(inputs.elastic, inputs.phonopy, params.targets),
        lattice_constant=params.lattice_constant, fitted=params.fitted, optimizers=params.optimizers,
        n_starts=params.n_starts, seed=params.seed, spread=params.spread, maxiter=params.maxiter,
        overrides=start, weights=params.weights, regularization=params.regularization,
        geometry=params.geometry,
    )
    write_json(outputs.fits, result)
    save_params(outputs.params, wildcards.potential, result["best"]["params"])
    write_lammps(outputs.lammps, wildcards.potential, result["best"]["params"], element=params.element)
    logger.info("best %s: %s", result["best"]["method"], result["best"]["params"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
