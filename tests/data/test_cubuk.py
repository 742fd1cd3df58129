"""The Cubuk et al. (2017) text format, byte for byte as the JCP supplementary ``MD_DATA.*`` files lay it
out, read number by number."""

import numpy as np
import pytest

from ffdiff.data.cubuk import read_cubuk
from ffdiff.data.trajectories import read_frames

BOX = 10.862


def _numbers(n_blocks: int, seed: int = 11) -> list[dict]:
    """Per block: step, positions, forces, energy, kinetic energy, temperature; some forces tiny, so
    that Python prints them in exponent notation as the files do."""
    rng = np.random.default_rng(seed)
    blocks = []
    for k in range(n_blocks):
        forces = rng.normal(size=(64, 3))
        forces[k, :] = [1e-05, -3.2e-06, 7.5e-07]
        blocks.append({"step": 15 * k, "positions": rng.uniform(0.0, BOX, (64, 3)), "forces": forces,
                       "energy": float(-368.9 + rng.normal(scale=0.3)), "kinetic": float(rng.uniform(2, 3)),
                       "temperature": float(rng.uniform(280, 320))})
    return blocks


def _file_text(blocks: list[dict]) -> str:
    """The published layout: a ``#PBC`` header, then per block ``iter= <step>``, three lattice lines, the
    atom count, 64 lines ``<type> x y z fx fy fz``, and the energy and temperature lines."""
    text = "#\n#PBC= pp pp pp\n"
    for b in blocks:
        text += f"iter= {b['step']}\n{BOX} 0.0 0.0\n0.0 {BOX} 0.0\n0.0 0.0 {BOX}\n64\n"
        text += "\n".join(" ".join(str(v) for v in (1.0, *r, *f))
                          for r, f in zip(b["positions"], b["forces"], strict=True))
        total = b["energy"] + b["kinetic"]
        text += (f"\nel-ion E= {b['energy']} eV\nKIN E= {b['kinetic']} eV\ntotal E= {total} eV\n"
                 f"Temp.= {b['temperature']} K\n")
    return text


def test_every_number_of_a_file_in_the_published_layout(tmp_path):
    blocks = _numbers(3)
    path = tmp_path / "MD_DATA.cubic_600K"
    path.write_bytes(_file_text(blocks).encode("ascii"))
    lines = path.read_text().split("\n")
    assert lines[2:7] == ["iter= 0", "10.862 0.0 0.0", "0.0 10.862 0.0", "0.0 0.0 10.862", "64"]
    assert lines[7].startswith("1.0 ") and lines[71].startswith("el-ion E= -3")
    assert "e-05" in path.read_text() and len(lines) == 2 + 3 * (5 + 64 + 4) + 1

    frames = read_cubuk(path)
    assert len(frames) == 3
    for b, atoms in zip(blocks, frames, strict=True):
        assert atoms.info["step"] == b["step"]
        np.testing.assert_array_equal(atoms.cell.array, BOX * np.eye(3))
        np.testing.assert_array_equal(atoms.positions, b["positions"])
        np.testing.assert_array_equal(atoms.get_forces(), b["forces"])
        assert atoms.get_potential_energy() == b["energy"]  # el-ion E, not the total E
        assert atoms.info["temperature"] == b["temperature"]
        assert atoms.get_chemical_symbols() == ["Si"] * 64 and atoms.pbc.all()
        assert atoms.info["source"] == "cubuk:cubic_600K"
    assert [f.info["step"] for f in read_cubuk(path, every=2)] == [0, 30]  # the example keeps every 15th
    assert [f.info["step"] for f in read_frames(path, index="1:")] == [15, 30]


def test_the_reading_of_jax_mds_example_agrees(tmp_path):
    """The published layout read as JAX-MD's old example reads it (blocks split on ``iter= ``, lines 5-68
    the atoms, the numbers after ``=`` on the ``Temp`` and ``el-ion E`` lines) gives the same numbers."""
    path = tmp_path / "MD_DATA.liq_1"
    path.write_text(_file_text(_numbers(2, seed=12)))
    for sample, atoms in zip(path.read_text().split("iter= ")[1:], read_cubuk(path), strict=True):
        entries = sample.split("\n")
        assert entries[4] == "64"
        rows = np.array([[float(w) for w in line.split()[1:]] for line in entries[5:69]])
        temperature = float([e for e in entries[69:] if "Temp" in e][0].split("=")[1].split()[0])
        energy = float([e for e in entries[69:] if "el-ion E" in e][0].split("=")[1].split()[0])
        assert (int(entries[0]), temperature, energy) == \
            (atoms.info["step"], atoms.info["temperature"], atoms.get_potential_energy())
        np.testing.assert_array_equal(np.hstack([atoms.positions, atoms.get_forces()]), rows)
        np.testing.assert_array_equal(atoms.cell.array, [[float(w) for w in e.split()] for e in entries[1:4]])


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_line_endings(tmp_path, newline):
    blocks = _numbers(1, seed=13)
    path = tmp_path / "MD_DATA.cubic_900K"
    path.write_bytes(_file_text(blocks).replace("\n", newline).encode("ascii"))
    atoms, = read_cubuk(path)
    np.testing.assert_array_equal(atoms.get_forces(), blocks[0]["forces"])
    assert atoms.get_potential_energy() == blocks[0]["energy"]
