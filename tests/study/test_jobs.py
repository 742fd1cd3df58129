"""Job start-up: XLA's CPU pool is as wide as the job's threads, no core is pinned, and a job given a GPU
runs on it or not at all."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import collections, os, sys
from ffdiff.runtime import use_cpus
before = os.sched_getaffinity(0)
use_cpus(int(sys.argv[1]))
import jax.numpy as jnp
(jnp.ones((300, 300)) @ jnp.ones((300, 300))).block_until_ready()
names = collections.Counter(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))
print(names["tf_XLAEigen"], os.sched_getaffinity(0) == before)
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and at least two CPUs")
def test_thread_pool_matches_job_threads_and_leaves_affinity_alone():
    out = subprocess.run([sys.executable, "-c", PROBE, "1"], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True"]  # one pool thread (the machine has more), cores free


def test_package_namespaces_import_only_what_is_used():
    """``import ffdiff`` loads no JAX (table and figure jobs), and a GNN job's imports load neither
    phonopy nor ASE's file readers; every public name still resolves."""
    import subprocess
    import sys

    code = ("import sys, ffdiff; assert 'jax' not in sys.modules; "
            "from ffdiff.data import Dataset; from ffdiff.potentials.models import load_model; "
            "print(sorted(m for m in ('phonopy', 'ase.io', 'scipy.optimize') if m in sys.modules)); "
            "import ffdiff.data, ffdiff.fitting, ffdiff.md, ffdiff.properties; "
            "[getattr(m, n) for m in (ffdiff, ffdiff.data, ffdiff.fitting, ffdiff.md, ffdiff.properties) for n in m.__all__]")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("imports", "absent"), [
    # landscape and phonon jobs: the fits' losses, not scipy's minimisers (half a second)
    ("from ffdiff.fitting.potential_fit import landscape_grid, phonon_properties", ("scipy.optimize",)),
    # GNN MD-test and error jobs: no optimiser library
    ("from ffdiff.fitting.stability import md_runs", ("optax",)),
    ("from ffdiff.statistics import summarise", ("jax",)),
    # the elastic reference is a JSON file: no JAX
    ("from ffdiff.data.elastic import cubic_reference", ("jax",)),
])
def test_job_imports_leave_out_what_the_job_does_not_run(imports, absent):
    code = f"import sys; {imports}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


LOGGING_PROBE = """
import logging, os, sys, types
from ffdiff.study.jobs import configure_logging
job = types.SimpleNamespace(log=[sys.argv[1]], rule="probe")
logger = configure_logging(job)
logger.info("logged")
logging.getLogger("jax._src.xla_bridge").info("Unable to initialize backend 'tpu'")
print("progress", file=sys.stderr, flush=True)
os.write(2, b"from C\\n")
logger.info("logged again")
raise SystemExit(3)
"""


def test_job_log_takes_all_stderr_and_terminal_only_the_logged_lines(tmp_path):
    """Progress bars and XLA's C++ messages go to the rule's log, not to the terminal Snakemake
    shares between jobs; logged lines go to both, in order; JAX's INFO lines to neither."""
    log = tmp_path / "job.log"
    log.write_text("a previous run's log\n")
    out = subprocess.run([sys.executable, "-c", LOGGING_PROBE, str(log)], capture_output=True, text=True)
    assert out.returncode == 3
    assert [line.split(": ", 1)[-1] for line in out.stderr.splitlines()] == ["logged", "logged again"]
    assert [line.split(": ", 1)[-1] for line in log.read_text().splitlines()] == [
        "logged", "progress", "from C", "logged again"]


GPU_PROBE = """
import json, sys, types
if sys.argv[2] == "jax":  # a job that computes (fits, GNN jobs) has imported JAX before it starts
    import jax
from ffdiff.study.jobs import start_job
resources = types.SimpleNamespace(**json.loads(sys.argv[1]))
job = types.SimpleNamespace(log=[], rule="probe", params=types.SimpleNamespace(), threads=1, resources=resources)
start_job(job)
import jax
print("ran on", jax.devices()[0].platform)
"""
NO_SLURM_GPUS = {k: v for k, v in os.environ.items() if k not in ("SLURM_GPUS_ON_NODE", "SLURM_JOB_GPUS")}


@pytest.mark.parametrize(("resources", "env", "imports"), [
    ({"gres": "gpu:1"}, {}, "jax"),            # profiles/slurm's GNN rules
    ({"gres": "gpu:a100:2"}, {}, ""),          # also before the script has imported JAX
    ({"gpu": 1}, {}, "jax"),                   # Snakemake's own GPU resource
    ({}, {"SLURM_GPUS_ON_NODE": "1"}, "jax"),  # a GPU asked for outside the resources (e.g. slurm_extra)
])
def test_job_given_a_gpu_without_one_in_jax_fails_at_start_saying_how_to_install_it(tmp_path, resources, env,
                                                                                     imports):
    """JAX restricted to its CPU backend stands in for an environment without the CUDA plugin."""
    out = subprocess.run([sys.executable, "-c", GPU_PROBE, json.dumps(resources), imports], capture_output=True,
                         text=True, cwd=tmp_path, env={**NO_SLURM_GPUS, "JAX_PLATFORMS": "cpu", **env})
    assert out.returncode != 0 and "ran on" not in out.stdout
    assert "was given a GPU" in out.stderr and 'pip install -c constraints.txt -e ".[cuda]"' in out.stderr


@pytest.mark.parametrize(("resources", "env", "imports"), [
    ({}, {}, "jax"),
    ({"gres": "", "gpu": 0, "mem_mb": 2000}, {}, ""),
    ({}, {"SLURM_GPUS_ON_NODE": "1"}, ""),  # a table or figure job inside a GPU allocation
])
def test_cpu_job_runs_on_the_cpu(tmp_path, resources, env, imports):
    out = subprocess.run([sys.executable, "-c", GPU_PROBE, json.dumps(resources), imports], capture_output=True,
                         text=True, cwd=tmp_path, env={**NO_SLURM_GPUS, "JAX_PLATFORMS": "cpu", **env})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ran on cpu"
