"""The configuration reference (docs/configuration.md), generated from the config schema so it cannot
drift from what the workflow validates: every key, nested ones included, with its type, default and
description, in the schema's own order.

Usage: python -m ffdiff.study.config_reference [schema] [out]
(defaults: workflow/schemas/config.schema.yaml, docs/configuration.md)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA = Path("workflow/schemas/config.schema.yaml")
OUT = Path("docs/configuration.md")

HEAD = """\
# Configuration reference

<!-- Generated from workflow/schemas/config.schema.yaml by `python -m ffdiff.study.config_reference`;
edit the schema, not this file (a test checks that the two agree). -->

{description}

`config/config.yaml` is the default study, `config/smoke.yaml` the tests' tiny one, `config/paper.yaml`
the paper's sizes. A file given with `--configfile` is the whole configuration, not a patch on
`config/config.yaml`: every key it leaves out takes the default below. Keys written `<name>` are names
you choose (they become file names: letters, digits, `_` and `-`); `[]` marks the items of a list.
"""


def _resolve(node: dict, defs: dict) -> dict:
    """``node`` with a local ``$ref`` merged in (the node's own keys win, as in the schema's use)."""
    if "$ref" not in node:
        return node
    target = _resolve(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _bounds(node: dict) -> str:
    low = (f"≥ {node['minimum']}" if "minimum" in node else
           f"> {node['exclusiveMinimum']}" if "exclusiveMinimum" in node else "")
    high = (f"≤ {node['maximum']}" if "maximum" in node else
            f"< {node['exclusiveMaximum']}" if "exclusiveMaximum" in node else "")
    return ", ".join(b for b in (low, high) if b)


def _type(node: dict, defs: dict) -> str:
    node = _resolve(node, defs)
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" if not isinstance(v, str) else f"`{v}`"
                                     for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if "anyOf" in node:
        return " or ".join(_type(n, defs) for n in node["anyOf"])
    kinds = node.get("type", "object" if "properties" in node else "")
    text = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if text == "array" and "items" in node:
        count = (f"{node['minItems']}" if node.get("minItems") == node.get("maxItems") and "minItems" in node
                 else "")
        text = f"list of {count + ' ' if count else ''}{_type(node['items'], defs)}"
    elif text == "object" and isinstance(node.get("additionalProperties"), dict) and "properties" not in node:
        text = f"map of `<name>` to {_type(node['additionalProperties'], defs)}"
    if bounds := _bounds(node):
        text += f" ({bounds})"
    return text


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _rows(key: str, node: dict, defs: dict, required: bool) -> list[str]:
    """The row of ``key`` and those of every key nested in it."""
    node = _resolve(node, defs)
    default = ("required" if required else "") if "default" not in node else \
        f"`{json.dumps(node['default'], ensure_ascii=False)}`"
    rows = [f"| `{key}` | {_cell(_type(node, defs))} | {_cell(default)} | {_cell(node.get('description', ''))} |"]
    children: list[tuple[str, dict, bool]] = []
    if "properties" in node:
        needed = set(node.get("required", []))
        children += [(f"{key}.{name}", child, name in needed) for name, child in node["properties"].items()]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in _resolve(extra, defs):
        children.append((f"{key}.<name>", extra, False))
    items = node.get("items")
    if isinstance(items, dict) and "properties" in _resolve(items, defs):
        children.append((f"{key}[]", items, False))
    for child_key, child, needed in children:
        child = _resolve(child, defs)
        if child_key.endswith(("<name>", "[]")):  # the entry's own row repeats its container's
            needed_inner = set(child.get("required", []))
            for name, grandchild in child.get("properties", {}).items():
                rows += _rows(f"{child_key}.{name}", grandchild, defs, name in needed_inner)
        else:
            rows += _rows(child_key, child, defs, needed)
    return rows


def render(schema: dict) -> str:
    """The Markdown reference of ``schema``: one section per top-level key, one row per key."""
    defs = schema.get("$defs", {})
    parts = [HEAD.format(description=schema.get("description", "")).rstrip()]
    needed = set(schema.get("required", []))
    for name, node in schema["properties"].items():
        parts += ["", f"## `{name}`", "", "| key | type | default | description |", "|---|---|---|---|",
                  *_rows(name, node, defs, name in needed)]
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> None:
    import yaml

    schema_path = Path(argv[0]) if argv else SCHEMA
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(yaml.safe_load(schema_path.read_text())))
    print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
