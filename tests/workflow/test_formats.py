"""The formats users hold, through the workflow: the Cubuk database folder as the pretraining data."""

import json

from conftest import labelled_frames, write_aselmdb
from run_workflow import edited_config, snakemake

from ffdiff.data.dataset import Dataset


def test_an_aselmdb_folder_is_the_pretraining_data(tmp_path):
    """``gnn.snapshots.files`` names the folder; Snakemake tracks its shards (so ``--cache`` can hash
    them), and the frames keep their phases as sources."""
    phases = {"cubic_300K": labelled_frames(3, seed=1), "liq_1": labelled_frames(2, seed=2)}
    folder = write_aselmdb(tmp_path / "silicon_aselmdb", phases, shard_size=2)
    config = edited_config(tmp_path / "config.yaml",
                           lambda c: c["gnn"]["snapshots"].update(files=[str(folder)]))
    work = tmp_path / "work"
    snakemake(work, "resources/gnn/snapshots.npz", config=config)
    data = Dataset.load(work / "resources/gnn/snapshots.npz")
    assert data.sources.tolist() == (["file:data_0000.aselmdb:cubic_300K"] * 2
                                     + ["file:data_0001.aselmdb:cubic_300K", "file:data_0001.aselmdb:liq_1",
                                        "file:data_0002.aselmdb:liq_1"])
    assert data.energies.tolist() == [f.get_potential_energy() for f in phases["cubic_300K"] + phases["liq_1"]]
    files = json.loads((work / "resources/gnn/snapshots.json").read_text())["files"]
    assert files == [str(folder / f"data_{k:04d}.aselmdb") for k in range(3)]
