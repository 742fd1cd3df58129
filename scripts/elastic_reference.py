"""Write the DFT elastic reference (typed in config) as a `[6, 6]` matrix with its source.

Params: c11, c12, c44 (GPa, standard convention), source. Outputs: elastic (JSON).
"""

from ffdiff.data.elastic import cubic_reference
from ffdiff.workflow import configure_logging, write_json


def run(params, outputs) -> None:
    matrix = cubic_reference(params.c11, params.c12, params.c44)
    write_json(outputs.elastic, {"matrix_gpa": matrix, "convention": "standard", "source": params.source})
    logger.info("elastic reference C11 %.4f C12 %.4f C44 %.4f GPa (%s)", params.c11, params.c12, params.c44,
                params.source)


if __name__ == "__main__":
    logger = configure_logging(snakemake)  # noqa: F821
    run(snakemake.params, snakemake.output)  # noqa: F821
