"""docs/configuration.md is the config schema rendered, so it cannot drift from what the workflow checks."""

from pathlib import Path

import yaml

from ffdiff.study.config_reference import render

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def test_committed_reference_is_the_rendered_schema():
    # After a schema change: python -m ffdiff.study.config_reference (from the repository root).
    expected = render(yaml.safe_load(SCHEMA.read_text()))
    assert (ROOT / "docs/configuration.md").read_text() == expected


def test_nested_keys_appear_with_their_defaults():
    text = render(yaml.safe_load(SCHEMA.read_text()))
    assert "| `reference.phonopy_example.example` | string |" in text
    row = next(line for line in text.splitlines() if line.startswith("| `reference.phonons.from` |"))
    assert '`"vasprun"`' in row and "force_constants" in row
    schema = {"properties": {"a": {"type": "object", "default": {}, "properties": {
        "b": {"description": "Inner.", "type": "integer", "minimum": 1, "default": 3}}}}}
    assert "| `a.b` | integer (≥ 1) | `3` | Inner. |" in render(schema)
