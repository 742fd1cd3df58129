"""The settings of an MD run, one type for both engines: the differentiable JAX engine
(:func:`ffdiff.md.simulate`, :func:`ffdiff.md.run_md`, the RDF loss of :mod:`ffdiff.fitting.gnn`) and the
ASE teacher (:func:`ffdiff.data.teacher.run_nvt`).

Field names carry their units and equal the study's config keys (``gnn.md``, ``gnn.rdf``,
``gnn.evaluate``), so a config block maps onto the type without renaming. The defaults live in the
config schema (workflow/schemas/config.schema.yaml) alone; the type has none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

__all__ = ["ENSEMBLES", "MDSettings"]

ENSEMBLES = ("nve", "nvt")
"""``"nve"``: velocity Verlet; ``"nvt"``: Nosé–Hoover chain."""


@dataclasses.dataclass(frozen=True)
class MDSettings:
    """One MD run.

    Attributes:
        timestep_fs: integration step, fs.
        tdamp_fs: Nosé–Hoover thermostat time constant, fs (NVT only).
        temperature_K: initial temperature of the Maxwell–Boltzmann velocities and NVT target, K.
        ensemble: ``"nve"`` or ``"nvt"`` (the teacher runs NVT only).
        n_steps: steps of the run (the teacher's: of its production, after equilibration).
        record_every: steps between recorded frames (the teacher's sampled frames).
    """

    timestep_fs: float
    tdamp_fs: float
    temperature_K: float
    ensemble: Literal["nve", "nvt"]
    n_steps: int
    record_every: int

    def __post_init__(self):
        if self.ensemble not in ENSEMBLES:
            raise ValueError(f"expected ensemble 'nve' or 'nvt', got {self.ensemble!r}")
        if not (self.timestep_fs > 0 and self.tdamp_fs > 0 and self.temperature_K >= 0):
            raise ValueError(f"expected timestep_fs, tdamp_fs > 0 and temperature_K >= 0, got {self.timestep_fs}, "
                             f"{self.tdamp_fs}, {self.temperature_K}")
        if self.n_steps < 0 or self.record_every < 1:
            raise ValueError(f"expected n_steps >= 0 and record_every >= 1, got {self.n_steps} and "
                             f"{self.record_every}")

    @classmethod
    def from_blocks(cls, *blocks: Mapping, **values) -> MDSettings:
        """The settings a stage's config blocks name, later blocks and ``values`` taking precedence; a
        block's other keys belong to its stage and are left out (the schema has checked them).

        Example:
            >>> MDSettings.from_blocks({"timestep_fs": 1.0, "tdamp_fs": 100.0, "melt_fs": 3000.0},
            ...                        {"n_steps": 60, "record_every": 5, "ensemble": "nve", "replicas": 4},
            ...                        temperature_K=2000.0)
            MDSettings(timestep_fs=1.0, tdamp_fs=100.0, temperature_K=2000.0, ensemble='nve', n_steps=60, record_every=5)
        """
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**{k: v for block in blocks for k, v in block.items() if k in names}, **values})

    def replace(self, **changes) -> MDSettings:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)
