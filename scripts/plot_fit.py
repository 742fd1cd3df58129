"""Figures of one fit: loss against iteration, and phonons (force-constant fits) or elastic bars.

Inputs: fits, elastic, phonopy, params_file (optional).
Params: kind ("elastic" or "phonon"), lattice_constant, overrides, element.
Outputs: loss (PNG, PDF), properties (PNG, PDF). Wildcards: potential.
"""

import json
from pathlib import Path

from ffdiff import plotting
from ffdiff.data.phonopy import load_phonopy
from ffdiff.fitting.study import best_run, phonon_curves
from ffdiff.potentials import starting_params
from ffdiff.workflow import configure_logging


def run(wildcards, inputs, params, outputs) -> None:
    fits = json.loads(Path(inputs.fits).read_text())
    plotting.save(plotting.loss_curves(fits), outputs.loss)
    if params.kind == "phonon":
        start = starting_params(wildcards.potential, inputs.get("params_file"), params.overrides, params.element)
        curves, dos = phonon_curves(fits, load_phonopy(inputs.phonopy), lattice_constant=params.lattice_constant,
                                    overrides=start)
        figure = plotting.phonons(curves, dos)
    else:
        figure = plotting.elastic_bars({"original": fits["original"]["properties"], "DFT": fits["reference"],
                                        "fitted": best_run(fits)["properties"]})
    plotting.save(figure, outputs.properties)
    logger.info("figures of %s %s", wildcards.potential, fits["objective"])


if __name__ == "__main__":
    logger = configure_logging(snakemake)  # noqa: F821
    run(snakemake.wildcards, snakemake.input, snakemake.params, snakemake.output)  # noqa: F821
