"""Figures of one fit: loss against iteration, and phonons (force-constant fits) or elastic bars.

Inputs: fits, phonons (JSON; phonon and multi fits, with the fitted dispersion's 68 % band). Outputs: loss (PNG, PDF), properties (PNG, PDF).
"""

import json
from pathlib import Path

from ffdiff.study import plotting
from ffdiff.fitting.records import best_run
from ffdiff.study.jobs import start_job


def run(inputs, outputs) -> None:
    fits = json.loads(Path(inputs.fits).read_text())
    plotting.save(plotting.loss_curves(fits), outputs.loss)
    if "phonons" in inputs.keys():
        phonons = json.loads(Path(inputs.phonons).read_text())
        figure = plotting.phonons({k: v["bands"] for k, v in phonons.items()},
                                  {k: v["dos"] for k, v in phonons.items()}, phonons["fitted"].get("band"))
    else:
        figure = plotting.elastic_bars({"original": fits["original"]["properties"], "DFT": fits["reference"],
                                        "fitted": best_run(fits)["properties"]})
    plotting.save(figure, outputs.properties)
    logger.info("figures of %s %s", fits["potential"], fits["objective"])


if __name__ == "__main__":
    logger = start_job(snakemake)  # noqa: F821
    run(snakemake.input, snakemake.output)  # noqa: F821
