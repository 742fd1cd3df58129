"""Config validation, config providers and path helpers shared by every stage."""

from snakemake.utils import validate

import ffdiff

validate(config, schema="../schemas/config.schema.yaml", set_default=True)


def cfg(*keys):
    """The config value at ``keys``; use in ``params:`` so a change reruns the rule."""
    value = config
    for key in keys:
        value = value[key]
    return value


POTENTIALS = sorted(config["potentials"])
REFERENCE = "resources/reference/vasp"


wildcard_constraints:
    potential="|".join(POTENTIALS),


def get_vasprun_count():
    if config["reference"]["source"] == "local":
        return len(config["reference"]["local"]["vasprun"])
    return 1


def get_reference_files():
    """The normalised reference folder: the same names whatever the source."""
    return {
        "unitcell": f"{REFERENCE}/POSCAR-unitcell",
        "displacements": f"{REFERENCE}/displacements.yaml",
        "vasprun": [
            f"{REFERENCE}/vasprun-{k:03d}.xml" for k in range(1, get_vasprun_count() + 1)
        ],
    }


def get_final_output():
    return ["results/tables/potentials_check.md"]


CODE_VERSION = ffdiff.__version__
