"""MDSettings and RDFSettings against the config schema: the config keys that map onto them are their
fields, and their defaults live in the schema alone, so the two cannot drift apart."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from ffdiff.fitting.gnn import RDFSettings
from ffdiff.md.settings import MDSettings

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

# Keys of the MD blocks that are their stage's own, not an MD run's.
TEACHER_KEYS = {"lattice_constant", "melt_fs"}  # gnn.md: the teacher runs' starting crystal and melting
RDF_STAGE_KEYS = {"training", "shares", "replicas"}
EVALUATE_STAGE_KEYS = {"n_runs", "min_distance", "skin", "dtype"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


@pytest.fixture(scope="module")
def gnn(schema) -> dict:
    return schema["properties"]["gnn"]["properties"]


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _defaults(block: dict) -> dict:
    return {k: v["default"] for k, v in block["properties"].items() if "default" in v}


def test_md_blocks_map_onto_the_settings(schema, gnn):
    """gnn.md gives the integration settings, gnn.rdf and gnn.evaluate the run's, a trajectory condition
    the temperature: together exactly the fields, with no key renamed on the way."""
    md = set(gnn["md"]["properties"]) - TEACHER_KEYS
    rdf = set(gnn["rdf"]["properties"]) - RDF_STAGE_KEYS
    evaluate = set(gnn["evaluate"]["properties"]) - EVALUATE_STAGE_KEYS
    condition = schema["$defs"]["trajectory"]["properties"]
    assert rdf == evaluate
    assert md | rdf | {"temperature_K"} == _fields(MDSettings)
    assert "temperature_K" in condition
    settings = MDSettings.from_blocks(_defaults(gnn["md"]), _defaults(gnn["rdf"]), temperature_K=2000.0)
    assert dataclasses.asdict(settings) == {**{k: _defaults(gnn["md"])[k] for k in md},
                                            **{k: _defaults(gnn["rdf"])[k] for k in rdf}, "temperature_K": 2000.0}


def test_rdf_grid_maps_onto_rdf_settings(gnn):
    assert set(gnn["rdf_grid"]["properties"]) == _fields(RDFSettings)
    assert RDFSettings(**_defaults(gnn["rdf_grid"])).n_points == 81


@pytest.mark.parametrize("cls", [MDSettings, RDFSettings])
def test_defaults_live_in_the_schema_alone(cls):
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               for f in dataclasses.fields(cls))


@pytest.mark.parametrize(("changes", "message"), [
    ({"ensemble": "npt"}, "expected ensemble 'nve' or 'nvt', got 'npt'"),
    ({"timestep_fs": 0.0}, "expected timestep_fs, tdamp_fs > 0"),
    ({"record_every": 0}, "expected n_steps >= 0 and record_every >= 1"),
])
def test_bad_settings_are_refused(changes, message):
    good = {"timestep_fs": 1.0, "tdamp_fs": 100.0, "temperature_K": 300.0, "ensemble": "nve", "n_steps": 10,
            "record_every": 5}
    with pytest.raises(ValueError, match=message):
        MDSettings(**{**good, **changes})
