"""Positions-only trajectories (VASP XDATCAR, extended XYZ without energies or forces): read as datasets
with NaN energies and forces for RDF targets and MD-test references, refused for energy/force training."""

import re

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ffdiff.data.dataset import Dataset
from ffdiff.data.trajectories import dataset_from_files

A = 5.431  # Å, diamond Si
SIDE = 2 * A  # Å, the 64-atom cubic cell
#: ASE writes XDATCAR fractional coordinates with 8 decimals: a rounding error of at most 0.5e-8 of the
#: 10.862 Å side, 5.4e-8 Å per component (extended XYZ: 8 decimals of Å, 5e-9 Å), far below 1e-6 Å.
POSITION_TOL = 1e-6  # Å
RDF_TOL = 1e-6


def _thermal_frames(n_frames: int = 4, seed: int = 0) -> list:
    """64-atom diamond Si displaced by 0.1 Å (about 1000 K), some atoms pushed out of the cell."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        atoms = bulk("Si", "diamond", a=A, cubic=True).repeat(2)
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        frames.append(atoms)
    return frames


def _labelled(frames) -> list:
    rng = np.random.default_rng(1)
    out = []
    for atoms in frames:
        atoms = atoms.copy()
        atoms.calc = SinglePointCalculator(atoms, energy=float(-295.0 + rng.normal()),
                                           forces=rng.normal(size=(len(atoms), 3)))
        out.append(atoms)
    return out


def _minimum_image_error(positions, reference, cell) -> float:
    """Largest |Δ| (Å) over atoms and frames between positions equal up to lattice vectors."""
    fractional = (np.asarray(positions) - np.asarray(reference)) @ np.linalg.inv(cell)
    return float(np.max(np.abs((fractional - np.round(fractional)) @ cell)))


def _smooth_rdf(positions, cell):
    import jax.numpy as jnp

    from ffdiff.fitting.gnn import RDFSettings
    from ffdiff.properties.rdf import smooth_rdf

    settings = RDFSettings(r_min=1.0, r_max=5.0, n_points=81, sigma=0.1)  # the schema's defaults
    return np.asarray(smooth_rdf(jnp.asarray(positions), jnp.asarray(cell), settings.grid, sigma=settings.sigma))


def _check_positions_only(dataset, frames, source: str):
    from ffdiff.fitting.gnn import RDFSettings, reference_rdf

    original = np.array([a.positions for a in frames])
    cell = frames[0].cell.array
    assert not dataset.labelled
    assert len(dataset) == len(frames) and dataset.n_atoms == 64
    assert np.isnan(dataset.energies).all() and np.isnan(dataset.forces).all()
    assert dataset.forces.shape == (len(frames), 64, 3)
    assert dataset.sources.tolist() == [source] * len(frames)
    np.testing.assert_allclose(dataset.cells, np.broadcast_to(cell, (len(frames), 3, 3)), atol=1e-9, rtol=0)
    assert _minimum_image_error(dataset.positions, original, cell) < POSITION_TOL
    rdf = reference_rdf(dataset, RDFSettings(r_min=1.0, r_max=5.0, n_points=81, sigma=0.1))
    expected = _smooth_rdf(original, cell)
    assert expected.max() > 1.0  # a real g(r), not zeros on both sides
    np.testing.assert_allclose(rdf, expected, atol=RDF_TOL, rtol=0)
    assert all(a.calc is None for a in dataset.to_frames())


def test_xdatcar_reads_as_a_positions_only_dataset(tmp_path):
    frames = _thermal_frames()
    assert (np.array([a.get_scaled_positions(wrap=False) for a in frames]) < 0).any()  # atoms outside the cell
    path = tmp_path / "XDATCAR_1500K"
    write(path, frames, format="vasp-xdatcar")
    coordinates = path.read_text().splitlines()[8:72]  # first configuration
    assert all(re.fullmatch(r"(\s+-?\d\.\d{8}){3}", line) for line in coordinates)  # the 8 decimals above
    dataset = dataset_from_files([path], require_labels=False, temperature=1500.0)
    _check_positions_only(dataset, frames, "file:XDATCAR_1500K")
    np.testing.assert_array_equal(dataset.temperatures, 1500.0)


def test_extxyz_without_forces_reads_as_a_positions_only_dataset(tmp_path):
    frames = _thermal_frames(seed=2)
    write(tmp_path / "plain.xyz", frames, format="extxyz")
    _check_positions_only(dataset_from_files([tmp_path / "plain.xyz"], require_labels=False), frames,
                          "file:plain.xyz")
    energy_only = [a.copy() for a in frames]
    for k, atoms in enumerate(energy_only):
        atoms.calc = SinglePointCalculator(atoms, energy=-295.0 + k)  # ASE reads it back without forces
    write(tmp_path / "energies.xyz", energy_only, format="extxyz")
    _check_positions_only(dataset_from_files([tmp_path / "energies.xyz"], require_labels=False), frames,
                          "file:energies.xyz")
    with pytest.raises(ValueError, match="file:energies.xyz: frame 0 has no energy and forces"):
        dataset_from_files([tmp_path / "energies.xyz"])


def test_labels_required_by_default(tmp_path):
    path = tmp_path / "XDATCAR_run7"
    write(path, _thermal_frames(2), format="vasp-xdatcar")
    with pytest.raises(ValueError, match=r"file:XDATCAR_run7: frame 0 has no energy and forces \(no calculator\); "
                                         "a positions-only trajectory needs require_labels=False"):
        dataset_from_files([path])


def test_positions_only_dataset_round_trips(tmp_path):
    frames = _thermal_frames(5)
    data = Dataset.from_frames(frames, "file:XDATCAR", temperature=900.0, require_labels=False)
    back = Dataset.load(data.save(tmp_path / "reference.npz"))
    assert not back.labelled
    np.testing.assert_array_equal(back.positions, data.positions)
    np.testing.assert_array_equal(back.cells, data.cells)
    assert np.isnan(back.energies).all() and np.isnan(back.forces).all()
    assert back.sources.tolist() == ["file:XDATCAR"] * 5
    # take, split and concatenate keep it positions-only
    parts = back.split(fractions=(0.6, 0.2, 0.2), seed=0)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(5))
    twice = Dataset.concatenate(back.take(parts["train"]), back.take([4, 0]))
    assert not twice.labelled and len(twice) == len(parts["train"]) + 2
    np.testing.assert_array_equal(twice.positions[-2:], data.positions[[4, 0]])
    # a labelled file written before positions-only datasets existed still loads as labelled
    labelled = Dataset.load(Dataset.from_frames(_labelled(frames), "x").save(tmp_path / "labelled.npz"))
    assert labelled.labelled
    with pytest.raises(ValueError, match=r"frame 5: non-finite energies \(nan\)"):
        Dataset.concatenate(labelled, back)


def test_training_refuses_a_positions_only_dataset(tmp_path):
    from ffdiff.fitting.frames import stack_frames

    path = tmp_path / "XDATCAR_1500K"
    write(path, _thermal_frames(2), format="vasp-xdatcar")
    dataset = dataset_from_files([path], require_labels=False)
    with pytest.raises(ValueError, match=r"file:XDATCAR_1500K: positions only.*energy/force training needs both "
                                         r"\(e\.g\. a vasprun\.xml\).*RDF target or test reference only"):
        stack_frames(dataset, 3.77)


def test_xdatcar_with_a_nan_coordinate(tmp_path):
    path = tmp_path / "XDATCAR"
    write(path, _thermal_frames(3), format="vasp-xdatcar")
    lines = path.read_text().splitlines()
    second = lines.index("Direct configuration=     2")
    lines[second + 5] = "   0.12345678        nan   0.50000000"  # frame 1, atom 4
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}, frame 1: non-finite positions (nan)")):
        dataset_from_files([path], require_labels=False)


def test_labelled_frames_and_mixtures(tmp_path):
    frames = _thermal_frames(3, seed=4)
    labelled = _labelled(frames)
    data = Dataset.from_frames(labelled, "x", require_labels=False)
    assert data.labelled
    np.testing.assert_allclose(data.energies, [a.get_potential_energy() for a in labelled], rtol=0, atol=1e-12)
    np.testing.assert_allclose(data.forces[2], labelled[2].get_forces(), rtol=0, atol=1e-12)
    assert all(a.calc is not None for a in data.to_frames())
    # one unlabelled frame among labelled ones: refused, naming it
    with pytest.raises(ValueError, match=r"mix: frame 1 has no energy and forces \(no calculator\), but 2 of the "
                                         "3 frames have them"):
        Dataset.from_frames([labelled[0], frames[1], labelled[2]], "mix", require_labels=False)
    # a NaN energy is a bad label, not a positions-only frame
    bad = _labelled(frames)
    for atoms in bad:
        atoms.calc.results["energy"] = np.nan
    with pytest.raises(ValueError, match=r"bad: frame 0: non-finite energy \(nan\)"):
        Dataset.from_frames(bad, "bad", require_labels=False)
    # a labelled file and a positions-only file together
    write(tmp_path / "aimd.xyz", labelled, format="extxyz")
    write(tmp_path / "XDATCAR", frames, format="vasp-xdatcar")
    with pytest.raises(ValueError, match=r"mixes files with energies and forces \(\[.*aimd\.xyz'\]\) and "
                                         "positions-only files"):
        dataset_from_files([tmp_path / "aimd.xyz", tmp_path / "XDATCAR"], require_labels=False)
