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
    ("edit", "message", "key"),
    [
        (lambda c: c.update(typo=1), "Additional properties", []),
        (lambda c: c["reference"].update(source="cloud"), "is not one of", ["reference", "source"]),
        (lambda c: c["potentials"]["sw"]["params"].update(lam="big"), "is not of type 'number'",
         ["potentials", "sw", "params", "lam"]),
        (lambda c: c["potentials"].update(meam={}), "Additional properties", ["potentials"]),
        (lambda c: c["fits"].update(weigths=c["fits"].pop("weights")), r"\('weigths' was unexpected\)", ["fits"]),
        (lambda c: c["gnn"]["trajectories"]["conditions"]["1000K"].update(temperature_K=-300),
         "-300 is less than or equal to the minimum of 0", ["gnn", "trajectories", "conditions", "1000K", "temperature_K"]),
        # NaN passes minimum: 0 (every comparison with NaN is false); the schema refuses it, and infinities, anywhere.
        (lambda c: c["fits"]["weights"].update(elastic=float("nan")), "nan should not be valid",
         ["fits", "weights", "elastic"]),
        (lambda c: c["gnn"]["split"].__setitem__(1, float("nan")), "nan should not be valid", ["gnn", "split", 1]),
        (lambda c: c["elastic"]["reference"].update(C11=float("inf")), "inf should not be valid",
         ["elastic", "reference", "C11"]),
    ],
)
def test_bad_configs_are_refused(edit, message, key):
    config = copy.deepcopy(yaml.safe_load((ROOT / "config/config.yaml").read_text()))
    edit(config)
    with pytest.raises(jsonschema.ValidationError, match=message) as refused:
        jsonschema.validate(config, SCHEMA)
    assert list(refused.value.absolute_path) == key


def test_conda_env_pins_equal_pyproject():
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "workflow/envs/ffdiff.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == pins



@pytest.mark.parametrize(("edit", "valid"), [
    (lambda c: c["potentials"]["sw"].update(fitted="all"), True),
    (lambda c: c["potentials"]["sw"].update(fitted="everything"), False),
    (lambda c: c["fits"].update(regularization=0.1), True),
    (lambda c: c["fits"].update(regularization=-0.1), False),
])
def test_fitted_all_and_regularization(edit, valid):
    """``fitted`` takes names or "all"; ``fits.regularization`` a strength >= 0."""
    config = copy.deepcopy(yaml.safe_load((ROOT / "config/config.yaml").read_text()))
    edit(config)
    if valid:
        jsonschema.validate(config, SCHEMA)
    else:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(config, SCHEMA)
