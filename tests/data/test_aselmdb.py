"""The Cubuk et al. data as distributed today: an ASE ``aselmdb`` database (ase-db-backends), as one file
or as a folder of shards beside a manifest, written here with ase-db-backends itself."""

import numpy as np
import pytest
from ase.db import connect
from conftest import labelled_frames, write_aselmdb

from ffdiff.data.trajectories import dataset_from_files, guess_format, read_frames


def _same(ours, theirs) -> None:
    """Positions, cells, energies and forces identical to the last bit."""
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(b.positions, a.positions)
        np.testing.assert_array_equal(b.cell.array, a.cell.array)
        np.testing.assert_array_equal(b.get_forces(), a.get_forces())
        assert b.get_potential_energy() == a.get_potential_energy()
        assert b.get_chemical_symbols() == a.get_chemical_symbols() and b.pbc.all()


def _snapshot(folder):
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_a_sharded_database_reads_back_exactly(tmp_path):
    phases = {"cubic_300K": labelled_frames(3, seed=1), "liq_1": labelled_frames(2, seed=2)}
    folder = write_aselmdb(tmp_path / "silicon_aselmdb", phases, shard_size=2)
    assert sorted(p.name for p in folder.glob("*.aselmdb")) == ["data_0000.aselmdb", "data_0001.aselmdb",
                                                                "data_0002.aselmdb"]
    before = _snapshot(folder)
    assert guess_format(folder) == "aselmdb"
    frames = read_frames(folder)
    _same(phases["cubic_300K"] + phases["liq_1"], frames)
    assert [f.info["phase"] for f in frames] == ["cubic_300K"] * 3 + ["liq_1"] * 2
    assert _snapshot(folder) == before  # read-only: no lock file, nothing rewritten
    _same(phases["liq_1"], read_frames(folder, index="3:"))  # the index runs across shards
    _same(phases["liq_1"][1:], read_frames(folder / "data_0002.aselmdb"))  # one shard alone

    data = dataset_from_files([folder])
    assert data.labelled and data.n_atoms == 64
    assert data.sources.tolist() == ["file:silicon_aselmdb:cubic_300K"] * 3 + ["file:silicon_aselmdb:liq_1"] * 2
    np.testing.assert_array_equal(data.forces[4], phases["liq_1"][1].get_forces())
    assert data.energies.tolist() == [f.get_potential_energy() for f in frames]


def test_a_single_file_database_of_8_atom_cells(tmp_path):
    frames = labelled_frames(3, repeat=1, seed=3)
    path = tmp_path / "cells.aselmdb"
    with connect(path) as db:
        for atoms in frames:
            db.write(atoms)
    back = read_frames(path)
    _same(frames, back)
    assert "phase" not in back[0].info
    assert dataset_from_files([path]).sources.tolist() == ["file:cells.aselmdb"] * 3
    (tmp_path / "renamed").write_bytes(path.read_bytes())
    _same(frames, read_frames(tmp_path / "renamed", format="aselmdb"))


def test_a_foreign_element_is_refused_naming_the_database(tmp_path):
    frames = labelled_frames(2, seed=4)
    frames[1].symbols[[0, 9]] = "Ge"
    folder = write_aselmdb(tmp_path / "db", {"cubic_600K": frames}, shard_size=1)
    with pytest.raises(ValueError, match=r"db: frame 1 has \['Ge'\] atoms; expected Si only"):
        read_frames(folder)
    with pytest.raises(ValueError, match=r"data_0001.aselmdb: frame 0 has \['Ge'\] atoms; expected Si only"):
        dataset_from_files(sorted(folder.glob("*.aselmdb")))


def test_missing_forces_are_refused_naming_the_database(tmp_path):
    from ase.calculators.singlepoint import SinglePointCalculator

    frames = labelled_frames(2, seed=5)
    frames[1].calc = SinglePointCalculator(frames[1], energy=-368.0)  # an energy but no forces
    folder = write_aselmdb(tmp_path / "db", {"cubic_900K": frames}, shard_size=5)
    with pytest.raises(ValueError, match=r"file:db:cubic_900K: frame 1 has no energy and forces "
                                         r"\(.*forces.*\)"):
        dataset_from_files([folder])


def test_not_a_database(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: a folder without .aselmdb files"):
        read_frames(tmp_path / "empty")
    with pytest.raises(ValueError, match="missing: no such file"):
        read_frames(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "text.aselmdb").write_text("not an LMDB file\n")
    with pytest.raises(ValueError, match="cannot read aselmdb frames from .*text.aselmdb"):
        read_frames(tmp_path / "text.aselmdb")
    with pytest.raises(ValueError, match="empty: a folder; only an aselmdb database can be one"):
        read_frames(tmp_path / "empty", format="extxyz")
