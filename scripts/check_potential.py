"""Evaluate one potential on the reference structures: energies, stress, forces against DFT.

Inputs: structures (ASE trajectory), params_file (optional). Params: overrides, element, code_version.
Outputs: check (JSON). Wildcards: potential.
"""

from ase.io import read

from ffdiff import Calculator
from ffdiff.potentials import starting_params
from ffdiff.properties.summary import check_potential
from ffdiff.study.jobs import start_job, write_json


def run(wildcards, inputs, params, outputs) -> None:
    start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
    calc = Calculator(wildcards.potential, start, element=params.element)
    structures = read(inputs.structures, index=":", format="traj")
    result = {
        "potential": wildcards.potential,
        "params": {k: float(v) for k, v in calc.params.items()},
        "ffdiff_version": params.code_version,
        "structures": check_potential(calc, structures),
    }
    write_json(outputs.check, result)
    logger.info("%s: %s", wildcards.potential, {k: v["energy_per_atom"] for k, v in result["structures"].items()})


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
