"""Job start-up: XLA's CPU pool is as wide as the job's threads, and no core is pinned."""

import os
import subprocess
import sys

import pytest

PROBE = """
import collections, os, sys
from ffdiff.workflow import use_cpus
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
