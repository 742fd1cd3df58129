"""The study's result files read without JAX: table and figure jobs import only this, pandas and
matplotlib, so they start in a fraction of a second."""

from __future__ import annotations

import json
from pathlib import Path


def read_md_tests(paths) -> dict[tuple[str, str], dict]:
    """MD-test results keyed by (model, condition), from ``results/gnn/<model>/md_<condition>.json``."""
    return {(Path(p).parent.name, Path(p).stem.removeprefix("md_")): json.loads(Path(p).read_text()) for p in paths}
