"""One smoke run of the whole DAG per test session, shared by every workflow test module."""

from pathlib import Path

import pytest
from run_workflow import snakemake


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """A scratch directory holding a complete run of the smoke config. Tests may add files next to it
    but must not change what is there (copy it first)."""
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake(workdir)
    return workdir
