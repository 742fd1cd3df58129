"""Bridges to other codes (LAMMPS) used as independent references."""
