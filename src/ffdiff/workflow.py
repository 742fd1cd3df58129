"""Glue for the Snakemake scripts: logging into the rule's log file, JSON output."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import numpy as np


def configure_logging(snakemake, level: int = logging.INFO) -> logging.Logger:
    """Log to the rule's ``log[0]`` and stderr, and send uncaught tracebacks to both."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if snakemake.log:
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def excepthook(kind, value, tb):
        logging.getLogger("ffdiff").error("uncaught exception", exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    return logging.getLogger(f"ffdiff.rule.{snakemake.rule}")


def _default(obj):
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_json(path, data) -> None:
    """Write JSON through a temporary file, so a crash never leaves a partial artifact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_default) + "\n")
    os.replace(tmp, path)
