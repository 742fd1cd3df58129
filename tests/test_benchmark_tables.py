"""docs/benchmarks.md is the benchmarks' own output (benchmarks/report.py), not typed: its tables are the
rendered ones, and every sentence quoting a number is computed from those tables."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import document, tables_of  # noqa: E402
from benchmarks.summary import tables  # noqa: E402
from benchmarks.tables import (  # noqa: E402
    driver_table,
    fits_table,
    grad_table,
    md_table,
    smoke_table,
    stages_table,
    vmap_table,
)

PAGE = ROOT / "docs/benchmarks.md"


def test_page_has_every_generated_table():
    block = tables_of(PAGE.read_text())
    for empty in (md_table([]), driver_table([]), grad_table([]), fits_table([]), vmap_table([]),
                  stages_table({"stages": [], "run": None}), smoke_table({"cores": 2, "runs": {}})):
        assert empty in block  # the header rows, exactly as rendered
    assert "benchmarks/md.py`, 20" in block  # dated by the run that made it
    for code in ("| lammps | sw |", "| lammps | edip |", "| jax-md | sw |", "| ffdiff | edip |", "| ffdiff | mpgnn |"):
        assert code in block
    assert "| ffdiff run_md |" in block
    assert "| 8000 |" in block and "End to end:" in block


def test_page_is_what_the_renderer_makes_of_its_tables():
    """The prose around the tables, numbers included, is the renderer's: after a change of
    benchmarks/report.py or summary.py, rerun `python benchmarks/report.py --docs docs/benchmarks.md`."""
    page = PAGE.read_text()
    assert page == document(tables_of(page))
    assert "## What the numbers say" in page and "times LAMMPS at" in page


def test_summary_leaves_out_what_was_not_measured():
    assert document("") == document("").replace("## What the numbers say", "")
    assert tables("| a | b |\n|---|---|\n| 1 | 2 |\n\ntext") == [[{"a": "1", "b": "2"}]]
