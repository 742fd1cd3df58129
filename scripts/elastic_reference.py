"""Write the DFT elastic reference as a `[6, 6]` matrix (GPa, standard convention) with its source.

Inputs: outcar (origin = outcar), or equilibrium + strained (origin = strained, vasprun.xml files).
Params: origin, c11, c12, c44, source. Outputs: elastic (JSON).
"""

from ffdiff.data.elastic import cubic_reference
from ffdiff.data.outcar import read_elastic_moduli
from ffdiff.data.strained import elastic_from_strained_runs
from ffdiff.study.jobs import start_job, write_json


def run(inputs, params, outputs) -> None:
    if params.origin == "outcar":
        matrix, source = read_elastic_moduli(inputs.outcar), f"VASP OUTCAR {inputs.outcar}"
    elif params.origin == "strained":
        matrix = elastic_from_strained_runs(inputs.equilibrium, list(inputs.strained))
        source = f"stress-strain fit of {len(inputs.strained)} strained VASP runs"
    else:
        matrix, source = cubic_reference(params.c11, params.c12, params.c44), params.source
    write_json(outputs.elastic, {"matrix_gpa": matrix, "convention": "standard", "source": source})
    logger.info("elastic reference C11 %.4f C12 %.4f C44 %.4f GPa (%s)", matrix[0, 0], matrix[0, 1],
                matrix[3, 3], source)


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
