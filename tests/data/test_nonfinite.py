"""Every reader of numbers refuses NaN and infinity, naming the file and the frame or line; teacher MD
stops at the first non-finite energy or force; results JSON never holds NaN tokens."""

import json
import math
import re

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.calculator import all_changes
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from conftest import md_settings, outcar_text
from ffdiff import Calculator
from ffdiff.data.cubuk import read_cubuk, write_cubuk
from ffdiff.data.dataset import Dataset
from ffdiff.data.outcar import read_elastic_moduli
from ffdiff.data.phonopy import phonopy_from_force_constants, phonopy_from_force_sets, read_displacements
from ffdiff.data.teacher import run_nvt
from ffdiff.data.trajectories import read_frames
from ffdiff.exceptions import ParameterFileError
from ffdiff.potentials.io import load_params, read_lammps, save_params, write_lammps
from ffdiff.study.jobs import write_json


def _frames(n_frames: int = 4) -> list:
    rng = np.random.default_rng(0)
    out = []
    for k in range(n_frames):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True)
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=-37.0 + k, forces=rng.normal(size=(8, 3)))
        out.append(atoms)
    return out


def test_dataset_file_with_a_nan_energy(tmp_path):
    path = Dataset.from_frames(_frames(), "x").save(tmp_path / "snapshots.npz")
    with np.load(path) as npz:
        content = dict(npz)
    content["energies"][3] = np.nan
    np.savez(path, **content)
    with pytest.raises(ValueError, match=re.escape(f"{path}: frame 3: non-finite energies (nan)")):
        Dataset.load(path)


def test_extxyz_frame_with_a_nan_energy(tmp_path):
    frames = _frames()
    frames[1].calc = SinglePointCalculator(frames[1], energy=math.nan, forces=frames[1].get_forces())
    write(tmp_path / "frames.xyz", frames, format="extxyz")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'frames.xyz'}, frame 1: non-finite energy (nan)")):
        read_frames(tmp_path / "frames.xyz")


def test_cubuk_block_with_an_infinite_force(tmp_path):
    path = write_cubuk(tmp_path / "MD_DATA.cubic_300K", _frames(2))
    lines = path.read_text().splitlines()
    lines[lines.index("iter= 0", 1) + 6] = "1 0.1 0.2 0.3 inf 0.0 0.0"  # second block, its second atom
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}, block 2: non-finite forces (inf)")):
        read_cubuk(path)


@pytest.fixture
def cells(vasp_reference):
    return read(vasp_reference["unitcell"]), read_displacements(vasp_reference["displacements"])[0]


def test_force_constants_file_with_a_nan(cells, dft_phonon, tmp_path):
    from phonopy.file_IO import write_FORCE_CONSTANTS

    fc = dft_phonon.force_constants.copy()
    fc[1, 2, 0, 1] = np.nan
    write_FORCE_CONSTANTS(fc, filename=tmp_path / "FORCE_CONSTANTS")
    # line 1 holds the sizes; each atom pair takes 4 lines: "i j" and 3 rows. Pair (1, 2) is the 67th.
    line = 1 + 4 * (1 * 64 + 2) + 2
    assert "nan" in (tmp_path / "FORCE_CONSTANTS").read_text().splitlines()[line - 1].lower()
    message = f"{tmp_path / 'FORCE_CONSTANTS'}, line {line} (atoms 2 and 3): non-finite force constants (nan)"
    with pytest.raises(ValueError, match=re.escape(message)):
        phonopy_from_force_constants(*cells, tmp_path / "FORCE_CONSTANTS")


def test_force_sets_file_with_a_nan(cells, dft_phonon, tmp_path):
    from phonopy.file_IO import write_FORCE_SETS

    dataset = {"natom": 64, "first_atoms": [dict(d) for d in dft_phonon.dataset["first_atoms"]]}
    dataset["first_atoms"][0]["forces"] = np.array(dataset["first_atoms"][0]["forces"])
    dataset["first_atoms"][0]["forces"][5, 2] = np.nan
    write_FORCE_SETS(dataset, filename=tmp_path / "FORCE_SETS")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'FORCE_SETS'}, displacement 1: non-finite forces (nan)")):
        phonopy_from_force_sets(*cells, tmp_path / "FORCE_SETS")


@pytest.mark.parametrize("style", ["sw", "edip"])
def test_lammps_parameter_file_with_a_nan(style, tmp_path):
    path = tmp_path / f"Si.{style}"
    write_lammps(path, style, {})
    words = path.read_text().splitlines()[1].split()
    words[4] = "nan"  # the second parameter, on the file's second line
    path.write_text(path.read_text().splitlines()[0] + "\n" + " ".join(words[:8]) + "\n" + " ".join(words[8:]) + "\n")
    name = {"sw": "sigma", "edip": "B"}[style]
    with pytest.raises(ParameterFileError, match=re.escape(f"{path}, line 2: non-finite parameter {name} (nan)")):
        read_lammps(path)


def test_json_parameter_file_with_infinity(tmp_path):
    path = tmp_path / "params.json"
    save_params(path, "sw", {"epsilon": 2.1, "lam": 21.0})
    path.write_text(path.read_text().replace("21.0", "Infinity"))
    with pytest.raises(ParameterFileError, match=re.escape(f"{path}: non-finite parameter lam (inf)")):
        load_params(path)


def test_outcar_with_a_nan_modulus(tmp_path):
    """A NaN in the TOTAL block of a whole OUTCAR (pymatgen then reads no table), or in the block alone."""
    rows = [[1532.141, 567.969, 567.969, 0, 0, 0], [567.969, 1532.141, 567.969, 0, 0, 0],
            [567.969, 567.969, 1532.141, 0, 0, 0], [0, 0, 0, math.nan, 0, 0], [0, 0, 0, 0, 748.3265, 0],
            [0, 0, 0, 0, 0, 748.3265]]
    path = tmp_path / "OUTCAR"
    text = outcar_text(rows, np.nan_to_num(rows))
    path.write_text(text)
    line = [k for k, words in enumerate(text.splitlines(), start=1) if "nan" in words][-1]
    with pytest.raises(ValueError, match=re.escape(f"{path}, line {line}: non-finite elastic moduli (nan)")):
        read_elastic_moduli(path)
    path.write_text(" TOTAL ELASTIC MODULI (kBar)\n Direction    XX    YY    ZZ    XY    YZ    ZX\n ------\n"
                    + "".join(f" {name} " + " ".join(f"{x:.4f}" for x in row) + "\n"
                              for name, row in zip(["XX", "YY", "ZZ", "XY", "YZ", "ZX"], rows, strict=True)))
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 7: non-finite elastic moduli (nan)")):
        read_elastic_moduli(path)


def test_results_json_holds_null_not_nan(tmp_path):
    path = tmp_path / "result.json"
    write_json(path, {"a": math.nan, "b": [1.0, math.inf, np.float64("-inf")], "c": np.array([0.5, np.nan]),
                      "d": np.float32(2.5), "e": 3, "f": None})

    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "a": None, "b": [1.0, None, None], "c": [0.5, None], "d": 2.5, "e": 3, "f": None}


class _Breaks(AseCalculator):
    """EDIP, except that the energy and forces become NaN from the ``after``-th evaluation on."""

    implemented_properties = ("energy", "forces")

    def __init__(self, after: int):
        super().__init__()
        self.edip, self.after, self.calls = Calculator("edip"), after, 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        if self.calls >= self.after:  # as a DFT code that failed to converge might report
            self.results = {"energy": math.nan, "forces": np.full((len(atoms), 3), math.nan)}
        else:
            self.results = {"energy": self.edip.get_potential_energy(atoms), "forces": self.edip.get_forces(atoms)}


@pytest.mark.parametrize(("after", "step"), [(5, 10), (25, 30)], ids=["equilibration", "production"])
def test_teacher_stops_at_nan_energies(tmp_path, after, step):
    crystal = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    checkpoint = tmp_path / "cubic_300K.extxyz"
    message = f"NVT run at 300 K, seed 1, checkpoint {checkpoint}, step {step} ({step} fs): non-finite potential energy"
    with pytest.raises(FloatingPointError, match=re.escape(message)):
        run_nvt(crystal, _Breaks(after), md_settings(40, ensemble="nvt", record_every=10), equilibration_steps=20,
                seed=1, checkpoint=checkpoint, progress=False)
    assert not checkpoint.exists()


def test_teacher_set_names_the_condition_that_broke(tmp_path):
    from ffdiff.data.teacher import Condition, teacher_dataset

    with pytest.raises(FloatingPointError, match=re.escape("teacher-x:cubic_300K: NVT run at 300 K, seed ")):
        teacher_dataset(_Breaks(5), conditions=[Condition("cubic_300K", 300.0)], lattice_constant=5.431,
                        timestep_fs=1.0, tdamp_fs=100.0, melt_fs=3000.0, equilibration_fs=20.0,
                        production_fs=40.0, sample_every_fs=10.0, source_prefix="teacher-x",
                        checkpoint_dir=tmp_path, progress=False)
