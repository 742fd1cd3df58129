"""Unit conversions; ffdiff works in LAMMPS metal units (eV, Å, amu, fs, K)."""

EV_PER_A3_TO_GPA = 160.21766208
"""1 eV/Å³ in GPa."""

BAR_TO_GPA = 1.0e-4
"""1 bar in GPa (LAMMPS metal units report pressure in bar)."""

SI_MASS_AMU = 28.0855
