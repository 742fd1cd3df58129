"""One smoke run of the whole DAG per test session, shared by every workflow test module."""

from pathlib import Path

import pytest
from run_workflow import snakemake

from ffdiff.workflow import COMPILATION_CACHE


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory) -> Path:
    """One JAX compilation cache for every workflow run of the session (the runs live in different
    directories, each of which would otherwise get its own): the later runs load what the smoke run
    compiled, as a user's reruns do. A test that needs a cold cache sets its own."""
    path = tmp_path_factory.mktemp("jax-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(COMPILATION_CACHE, str(path))
        yield path


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """A scratch directory holding a complete run of the smoke config. Tests may add files next to it
    but must not change what is there (copy it first)."""
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake(workdir)
    return workdir
