"""Pareto front of one potential's elastic and force-constant losses, by gradient continuation, with
the front NSGA-II finds for comparison.

Inputs: elastic (JSON), phonopy (phonopy_params.yaml), params_file (optional).
Params: fitted, lattice_constant, overrides, element, points, scalarization, maxiter, nsga2
(population, generations, seed, spread), targets, divisions (of the three-loss surface, with targets).
Outputs: front (JSON). Wildcards: potential.
"""

from ffdiff.fitting.nsga import hypervolume, nsga2_potential
from ffdiff.fitting.pareto import Normalisation, pareto_potential
from ffdiff.fitting.pareto_surface import surface_potential
from ffdiff.fitting.potential_fit import load_reference
from ffdiff.potentials import starting_params
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    reference = load_reference(inputs.elastic, inputs.phonopy, params.targets)
    front = pareto_potential(wildcards.potential, reference, lattice_constant=params.lattice_constant,
                             fitted=params.fitted, overrides=start, points=params.points,
                             scalarization=params.scalarization, maxiter=params.maxiter)
    norm = Normalisation(front["utopia"], front["nadir"])
    front["hypervolume"] = hypervolume([[p["elastic_loss"], p["fc_loss"]] for p in front["points"]], norm)
    nsga = params.nsga2
    if nsga["generations"] > 0:
        front["nsga2"] = nsga2_potential(front, reference, lattice_constant=params.lattice_constant, overrides=start,
                                         pop_size=nsga["population"], n_gen=nsga["generations"], seed=nsga["seed"],
                                         spread=nsga["spread"])
    if reference.crystal:
        front["surface"] = surface_potential(wildcards.potential, reference, lattice_constant=params.lattice_constant,
                                             fitted=params.fitted, overrides=start, divisions=params.divisions,
                                             maxiter=params.maxiter)
    write_json(outputs.front, front)
    logger.info("%d points, monotone: %s, hypervolume %.4f", len(front["points"]), front["monotone"],
                front["hypervolume"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
