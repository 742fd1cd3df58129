"""The README's library example runs as printed, and its fit gives the values its comments state."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart_code() -> str:
    """The Python block of the README's Quickstart section."""
    section = README.read_text().split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, "expected one Python block in the README's Quickstart"
    return blocks[0]


def test_quickstart_code_runs_and_fits_the_papers_table_3():
    code = quickstart_code()
    namespace: dict = {}
    exec(compile(code, f"{README}:Quickstart", "exec"), namespace)  # noqa: S102
    fitted = namespace["fit"]["best"]["params"]
    assert fitted["epsilon"] == pytest.approx(1.93516, abs=2e-5) and fitted["lam"] == pytest.approx(33.7867, abs=2e-4)
    assert '{"epsilon": 1.93516, "lam": 33.7867, ...}' in code  # the values the README states
    properties = namespace["fit"]["runs"][0]["properties"]
    assert [properties["C11"], properties["C12"], 2 * properties["C44"]] == pytest.approx([162.305, 54.616, 140.883],
                                                                                          abs=0.01)
    assert namespace["grads"].keys() == namespace["params"].keys()
