"""Configs validate against the schema; the conda env carries pyproject's pins."""

import copy
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml", "paper.yaml"])
def test_shipped_configs_validate(name):
    jsonschema.validate(yaml.safe_load((ROOT / "config" / name).read_text()), SCHEMA)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(typo=1), "Additional properties"),
        (lambda c: c["reference"].update(source="cloud"), "is not one of"),
        (lambda c: c["potentials"]["sw"]["params"].update(lam="big"), "is not of type 'number'"),
        (lambda c: c["potentials"].update(tersoff={}), "Additional properties"),
    ],
)
def test_bad_configs_are_refused(edit, message):
    config = copy.deepcopy(yaml.safe_load((ROOT / "config/config.yaml").read_text()))
    edit(config)
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate(config, SCHEMA)


def test_conda_env_pins_equal_pyproject():
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "workflow/envs/ffdiff.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == pins
