"""Cubuk files, trajectory readers and the Dataset format: round trips, splits and bad input."""

import zipfile

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ffdiff.data.cubuk import read_cubuk, write_cubuk
from ffdiff.data.dataset import Dataset, split
from ffdiff.data.trajectories import read_frames


def _frames(n_frames: int = 3, seed: int = 0, repeat: int = 2, source: str | None = None) -> list[Atoms]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_frames):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=float(-368.9 + rng.normal()),
                                           forces=rng.normal(size=(len(atoms), 3)))
        atoms.info.update(step=10 * k + 1, temperature=float(300 + rng.normal(scale=20)))
        if source is not None:
            atoms.info["source"] = source
        out.append(atoms)
    return out


def _hand_written(n_atoms: int = 64, declared: int = 64, energy: bool = True) -> str:
    """Two blocks in the published layout, with the header and extra lines of the real files."""
    rng = np.random.default_rng(7)
    text = "#\n#PBC= pp pp pp\n"
    for step in (1, 2):
        text += f"iter= {step}\n 10.862 0.0 0.0\n 0.0 10.862 0.0\n 0.0 0.0 10.862\n{declared}\n"
        count = n_atoms if step == 2 else 64
        for x, f in zip(rng.uniform(0, 10.862, (count, 3)), rng.normal(size=(count, 3)), strict=True):
            text += "1 " + " ".join(f"{v:.6f}" for v in (*x, *f)) + "\n"
        if energy or step == 1:
            text += f"el-ion E= {-368.9 - step / 10:.4f} eV\n"
        text += f"KIN E= 2.48 eV\ntotal E= -366.4 eV\nTemp.= {300 + step}.5 K\n"
    return text


def test_cubuk_hand_written_and_round_trip(tmp_path):
    path = tmp_path / "MD_DATA.cubic_300K"
    path.write_text(_hand_written())
    frames = read_cubuk(path)
    assert len(frames) == 2 and len(frames[1]) == 64
    assert [f.info["step"] for f in frames] == [1, 2]
    assert [f.info["temperature"] for f in frames] == [301.5, 302.5]
    assert [f.get_potential_energy() for f in frames] == [-369.0, -369.1]
    assert frames[0].info["source"] == "cubuk:cubic_300K"
    np.testing.assert_array_equal(frames[0].cell.array, 10.862 * np.eye(3))
    first_atom = [float(v) for v in path.read_text().split("\n")[7].split()[1:]]
    assert frames[0].positions[0].tolist() + frames[0].get_forces()[0].tolist() == first_atom
    assert len(read_cubuk(path, every=2)) == 1

    for source in (frames, _frames(3)):
        out = write_cubuk(tmp_path / "MD_DATA.copy", source)
        back = read_cubuk(out)
        for a, b in zip(source, back, strict=True):
            np.testing.assert_array_equal(a.positions, b.positions)
            np.testing.assert_array_equal(a.cell.array, b.cell.array)
            np.testing.assert_array_equal(a.get_forces(), b.get_forces())
            assert (a.get_potential_energy(), a.info["temperature"], a.info["step"]) == \
                (b.get_potential_energy(), b.info["temperature"], b.info["step"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_atoms": 63}, "the block declares 64 atoms but has 63 atom lines"),
    ({"n_atoms": 65}, "the block declares 64 atoms but has 65 atom lines"),
    ({"declared": 64, "energy": False}, "no 'el-ion E= <energy> eV' line"),
])
def test_cubuk_malformed_block(tmp_path, kwargs, message):
    path = tmp_path / "MD_DATA.liq_1"
    path.write_text(_hand_written(**kwargs))
    with pytest.raises(ValueError, match=f"MD_DATA.liq_1, block 2: {message}"):
        read_cubuk(path)
    path.write_text("nothing\n")
    with pytest.raises(ValueError, match="MD_DATA.liq_1: no 'iter=' blocks"):
        read_cubuk(path)


def test_read_frames_formats(tmp_path):
    frames = _frames(3)
    write(tmp_path / "XDATCAR", frames, format="vasp-xdatcar")
    xdatcar = read_frames(tmp_path / "XDATCAR")
    assert len(xdatcar) == 3 and xdatcar[0].calc is None
    np.testing.assert_allclose(xdatcar[2].get_scaled_positions(), frames[2].get_scaled_positions() % 1.0,
                               atol=1e-7)

    write(tmp_path / "frames.xyz", frames, format="extxyz")
    from ase.db import connect

    with connect(tmp_path / "frames.db") as db:
        for atoms in frames:
            db.write(atoms)
    for name in ("frames.xyz", "frames.db"):
        back = read_frames(tmp_path / name)
        assert len(back) == 3, name
        for a, b in zip(frames, back, strict=True):
            np.testing.assert_allclose(b.positions, a.positions, atol=1e-7)
            np.testing.assert_allclose(b.get_forces(), a.get_forces(), atol=1e-7)
            assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-10)
        assert len(read_frames(tmp_path / name, index="1:")) == 2
        assert read_frames(tmp_path / name, index=-1)[0].get_potential_energy() == \
            pytest.approx(frames[-1].get_potential_energy(), abs=1e-10)

    write_cubuk(tmp_path / "MD_DATA.cubic_900K", frames)
    assert len(read_frames(tmp_path / "MD_DATA.cubic_900K", index="::2")) == 2


def test_read_frames_vasprun(vasp_reference):
    frames = read_frames(vasp_reference["vasprun"])
    assert len(frames) >= 1 and all(len(f) == 64 for f in frames)
    assert np.isfinite(frames[-1].get_potential_energy())
    assert np.abs(frames[-1].get_forces()).max() > 0  # a displaced supercell feels forces
    with pytest.raises(ValueError, match=r"vasprun-001.xml: frame 0 has \['Si'\] atoms; expected Ge only"):
        read_frames(vasp_reference["vasprun"], element="Ge")


def test_read_frames_rejects_foreign_elements_and_bad_files(tmp_path):
    frames = _frames(2)
    frames[1].symbols[[3, 5]] = "Ge"
    write(tmp_path / "mixed.extxyz", frames, format="extxyz")
    with pytest.raises(ValueError, match=r"mixed.extxyz: frame 1 has \['Ge'\] atoms; expected Si only"):
        read_frames(tmp_path / "mixed.extxyz")
    assert len(read_frames(tmp_path / "mixed.extxyz", element=None)) == 2
    (tmp_path / "broken.xml").write_text("<modeling><incar>")
    with pytest.raises(ValueError, match="cannot read vasp-xml frames from .*broken.xml"):
        read_frames(tmp_path / "broken.xml")
    with pytest.raises(ValueError, match="missing.db: no such file"):
        read_frames(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "frames.traj").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_frames(tmp_path / "frames.traj")


def test_dataset_round_trip_is_exact_and_pickle_free(tmp_path):
    data = Dataset.concatenate(Dataset.from_frames(_frames(3, 0), "cubuk:cubic_300K"),
                               Dataset.from_frames(_frames(2, 1, source="teacher-edip:liquid_2000K")))
    assert len(data) == 5 and data.n_atoms == 64
    assert data.sources.tolist() == ["cubuk:cubic_300K"] * 3 + ["teacher-edip:liquid_2000K"] * 2
    path = data.save(tmp_path / "data.npz")
    assert not list(tmp_path.glob(".*tmp"))
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(f"{k}.npy" for k in (
            "format", "element", "positions", "cells", "energies", "forces", "temperatures", "sources"))
    back = Dataset.load(path)
    for name in ("positions", "cells", "energies", "forces", "temperatures", "sources"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    assert back.element == "Si"

    frames = back.take([4, 0]).to_frames()
    np.testing.assert_array_equal(frames[0].get_forces(), data.forces[4])
    assert frames[1].info == {"temperature": data.temperatures[0], "source": "cubuk:cubic_300K"}
    assert Dataset.from_frames(frames).sources.tolist() == ["teacher-edip:liquid_2000K", "cubuk:cubic_300K"]
    unknown = _frames(1)[0]
    del unknown.info["temperature"]
    assert np.isnan(Dataset.from_frames([unknown], "x").temperatures[0])


def test_dataset_errors(tmp_path):
    with pytest.raises(ValueError, match="frame 1 has 8 atoms, frame 0 has 64; a Dataset needs one atom count"):
        Dataset.from_frames([_frames(1)[0], _frames(1, repeat=1)[0]], "mixed")
    no_results = bulk("Si", "diamond", a=5.431, cubic=True)
    with pytest.raises(ValueError, match="teacher-edip:cubic_300K: frame 0 has no energy and forces"):
        Dataset.from_frames([no_results], "teacher-edip:cubic_300K")
    with pytest.raises(ValueError, match="concatenate: dataset 0 has 64 Si atoms per frame, dataset 1 has 8 Si"):
        Dataset.concatenate(Dataset.from_frames(_frames(1), "a"), Dataset.from_frames(_frames(1, repeat=1), "b"))
    with pytest.raises(ValueError, match=r"Dataset.forces: expected shape \(2, 64, 3\)"):
        data = Dataset.from_frames(_frames(2), "a")
        Dataset(data.positions, data.cells, data.energies, data.forces[:, :8], data.temperatures, data.sources)
    (tmp_path / "other.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read a Dataset from .*other.npz"):
        Dataset.load(tmp_path / "other.npz")
    with pytest.raises(ValueError):  # read-only arrays: a shared Dataset cannot be changed by accident
        Dataset.from_frames(_frames(1), "a").energies[0] = 0.0


def test_split_counts_disjoint_reproducible():
    parts = split(4297, seed=0)
    assert {k: v.size for k, v in parts.items()} == {"train": 2578, "validation": 859, "test": 860}
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(4297))
    again, other = split(4297, seed=0), split(4297, seed=1)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    assert not np.array_equal(parts["train"], other["train"])

    groups = np.repeat(["cubic_300K", "cubic_600K", "cubic_900K", "liq_1"], [1000, 1100, 1200, 997])
    stratified = split(4297, seed=3, groups=groups)
    assert {k: v.size for k, v in stratified.items()} == {"train": 2578, "validation": 859, "test": 860}
    assert np.array_equal(np.sort(np.concatenate(list(stratified.values()))), np.arange(4297))
    for name, fraction in zip(("train", "validation", "test"), (0.6, 0.2, 0.2), strict=True):
        for group in np.unique(groups):
            share = np.count_nonzero(groups[stratified[name]] == group)
            assert abs(share - fraction * np.count_nonzero(groups == group)) <= 2, (name, group)
    with pytest.raises(ValueError, match="expected 3 fractions >= 0 summing to 1"):
        split(10, fractions=(0.5, 0.2, 0.2), seed=0)
