"""The README's benchmark block is the benchmarks' own output (benchmarks/report.py), not typed."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import BEGIN, END  # noqa: E402
from benchmarks.tables import driver_table, fits_table, grad_table, md_table, stages_table, vmap_table  # noqa: E402


def test_readme_benchmark_block_has_every_generated_table():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    for empty in (md_table([]), driver_table([]), grad_table([]), fits_table([]), vmap_table([]),
                  stages_table({"stages": [], "run": None})):
        assert empty in block  # the header rows, exactly as rendered
    assert "benchmarks/md.py`, 20" in block  # dated by the run that made it
    for code in ("| lammps | sw |", "| lammps | edip |", "| jax-md | sw |", "| ffdiff | edip |", "| ffdiff | mpgnn |"):
        assert code in block
    assert "| ffdiff run_md |" in block
    assert "| 8000 |" in block and "End to end:" in block
