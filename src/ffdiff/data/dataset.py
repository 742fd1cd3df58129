"""One in-memory and on-disk format for energy/force training data and reference trajectories, and
reproducible splits.

A dataset is either *labelled* (every frame has a finite energy and forces: training data) or
*positions-only* (every energy and force is NaN: a trajectory such as a VASP XDATCAR, good for an RDF
target or an MD-test reference, never for energy/force training); see :attr:`Dataset.labelled`.

On disk a :class:`Dataset` is a single uncompressed ``.npz`` that loads with ``allow_pickle=False``:

================  ==========================  =====================================================
key               dtype, shape                meaning
================  ==========================  =====================================================
``format``        int64 ``[]``                format version (:data:`FORMAT_VERSION`)
``element``       unicode ``[]``              chemical symbol of every atom
``positions``     float64 ``[F, N, 3]``       Cartesian positions, Å
``cells``         float64 ``[F, 3, 3]``       lattice vectors as rows, Å (fully periodic)
``energies``      float64 ``[F]``             potential energy, eV; NaN in a positions-only dataset
``forces``        float64 ``[F, N, 3]``       forces, eV/Å; NaN in a positions-only dataset
``temperatures``  float64 ``[F]``             (instantaneous) temperature, K; NaN if unknown
``sources``       unicode ``[F]``             label of the run, e.g. ``"cubuk:cubic_300K"``
================  ==========================  =====================================================

Examples:
    >>> import numpy as np
    >>> from ase.build import bulk
    >>> from ase.calculators.singlepoint import SinglePointCalculator
    >>> atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    >>> atoms.calc = SinglePointCalculator(atoms, energy=-34.7, forces=np.zeros((8, 3)))
    >>> data = Dataset.from_frames([atoms, atoms], "example", temperature=0.0)
    >>> len(data), data.positions.shape, data.sources.tolist(), data.labelled
    (2, (2, 8, 3), ['example', 'example'], True)
    >>> snapshots = Dataset.from_frames([bulk("Si", "diamond", a=5.431, cubic=True)], "xdatcar",
    ...                                 require_labels=False)
    >>> snapshots.labelled, bool(np.isnan(snapshots.energies).all())
    (False, True)
    >>> {k: v.size for k, v in split(4297, seed=0).items()}
    {'train': 2578, 'validation': 859, 'test': 860}
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ffdiff.finite import require_finite

__all__ = ["FORMAT_VERSION", "Dataset", "split"]

FORMAT_VERSION = 1
_FLOAT_FIELDS = ("positions", "cells", "energies", "forces", "temperatures")


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Frames of one element with the same atom count: positions, cells, energies, forces, labels.

    Attributes:
        positions: `[F, N, 3]` Cartesian positions, Å.
        cells: `[F, 3, 3]` lattice vectors as rows, Å; every frame is periodic in all directions.
        energies: `[F]` potential energies, eV; all NaN in a positions-only dataset.
        forces: `[F, N, 3]` forces, eV/Å; all NaN in a positions-only dataset.
        temperatures: `[F]` temperatures, K; NaN where unknown.
        sources: `[F]` unicode labels of the run each frame comes from, ``"<origin>:<condition>"``.
        element: chemical symbol of every atom.

    Arrays are stored read-only (float64), so a ``Dataset`` can be shared without defensive copies.
    Positions and cells are finite. Energies and forces are either all finite (a labelled dataset) or
    all NaN (positions-only); anything else, e.g. one NaN energy or a mix of labelled and unlabelled
    frames, is a ``ValueError`` naming the first offending frame. Temperatures are NaN where unknown.
    """

    positions: np.ndarray
    cells: np.ndarray
    energies: np.ndarray
    forces: np.ndarray
    temperatures: np.ndarray
    sources: np.ndarray
    element: str = "Si"

    def __post_init__(self):
        arrays = {name: np.array(getattr(self, name), dtype=np.float64) for name in _FLOAT_FIELDS}
        arrays["sources"] = np.array(self.sources, dtype=str)
        n_frames = arrays["energies"].shape[0] if arrays["energies"].ndim == 1 else -1
        n_atoms = arrays["positions"].shape[1] if arrays["positions"].ndim == 3 else -1
        expected = {"positions": (n_frames, n_atoms, 3), "cells": (n_frames, 3, 3), "energies": (n_frames,),
                    "forces": (n_frames, n_atoms, 3), "temperatures": (n_frames,), "sources": (n_frames,)}
        for name, shape in expected.items():
            if arrays[name].shape != shape or -1 in shape:
                raise ValueError(f"Dataset.{name}: expected shape {shape} (frames, atoms), "
                                 f"found {arrays[name].shape}")
        # Positions-only: every energy and force NaN (an empty dataset counts as labelled).
        unlabelled = n_frames > 0 and np.isnan(arrays["energies"]).all() and np.isnan(arrays["forces"]).all()
        checked = ("positions", "cells") if unlabelled else ("positions", "cells", "energies", "forces")
        for name in checked:  # temperatures: NaN where unknown
            require_finite(arrays[name], name, lambda index: f"frame {index[0]}")
        for name, array in arrays.items():
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "element", str(self.element))
        object.__setattr__(self, "_labelled", not unlabelled)

    def __len__(self) -> int:
        return int(self.energies.shape[0])

    @property
    def n_atoms(self) -> int:
        """Atoms per frame."""
        return int(self.positions.shape[1])

    @property
    def labelled(self) -> bool:
        """Whether the frames carry energies and forces (``False``: positions-only, energies and forces NaN)."""
        return self._labelled

    def take(self, indices) -> Dataset:
        """The frames at ``indices`` (an int array or boolean mask, numpy semantics), in that order."""
        indices = np.asarray(indices)
        return Dataset(**{name: getattr(self, name)[indices] for name in (*_FLOAT_FIELDS, "sources")},
                       element=self.element)

    @staticmethod
    def concatenate(*datasets: Dataset) -> Dataset:
        """Frames of all datasets, in argument order.

        Raises:
            ValueError: no datasets, or datasets with different atom counts or elements.
        """
        if not datasets:
            raise ValueError("concatenate: expected at least one Dataset, got none")
        first = datasets[0]
        for k, other in enumerate(datasets[1:], start=1):
            if (other.n_atoms, other.element) != (first.n_atoms, first.element):
                raise ValueError(f"concatenate: dataset 0 has {first.n_atoms} {first.element} atoms per frame, "
                                 f"dataset {k} has {other.n_atoms} {other.element}")
        return Dataset(**{name: np.concatenate([getattr(d, name) for d in datasets])
                          for name in (*_FLOAT_FIELDS, "sources")}, element=first.element)

    @classmethod
    def from_frames(cls, frames, source: str | None = None, temperature: float | None = None, *,
                    require_labels: bool = True) -> Dataset:
        """A dataset from ASE frames carrying energy and forces (e.g. a ``SinglePointCalculator``), or,
        with ``require_labels=False``, from frames that may all lack them (a positions-only dataset).

        A frame is labelled when its calculator gives both an energy and forces; no calculator, or one
        with only some results (an extended XYZ with an energy but no forces), is unlabelled.

        Args:
            frames: ``Atoms``, all of one element and one atom count.
            source: label of every frame; ``None`` takes each frame's ``info["source"]``.
            temperature: K, for every frame; ``None`` takes each frame's ``info["temperature"]`` (NaN if
                absent).
            require_labels: refuse frames without energy and forces; ``False`` accepts them if *all*
                frames lack them and returns a positions-only dataset (:attr:`labelled` ``False``).

        Raises:
            ValueError: no frames, a frame without energy or forces (with ``require_labels=False``: some
                frames with them and some without; the message names the source and the first frame
                without), mixed elements, or differing atom counts.
        """
        frames = list(frames)
        if not frames:
            raise ValueError(f"{source}: no frames")
        labels, rows, missing = [], [], []  # missing: (frame, source, reason) of every unlabelled frame
        n_atoms = len(frames[0])
        element = frames[0].get_chemical_symbols()[0] if len(frames[0]) else "?"
        for k, atoms in enumerate(frames):
            label = source if source is not None else atoms.info.get("source")
            if label is None:
                raise ValueError(f"frame {k}: no source given and no info['source']")
            if len(atoms) != len(frames[0]):
                raise ValueError(f"{label}: frame {k} has {len(atoms)} atoms, frame 0 has {len(frames[0])}; "
                                 "a Dataset needs one atom count")
            symbols = set(atoms.get_chemical_symbols())
            if symbols != {element}:
                raise ValueError(f"{label}: frame {k} has {sorted(symbols)} atoms, expected {element} only")
            if not atoms.pbc.all():
                raise ValueError(f"{label}: frame {k} is not periodic in all directions (pbc={atoms.pbc})")
            energy, forces, reason, cause = math.nan, np.full((n_atoms, 3), math.nan), "no calculator", None
            if atoms.calc is not None:
                try:
                    energy, forces, reason = atoms.get_potential_energy(), atoms.get_forces(), None
                except Exception as err:  # ASE raises several types when results are missing
                    reason, cause = str(err), err
            if reason is None:  # labelled: NaN labels are refused here, not taken for positions-only
                require_finite(energy, "energy", f"{label}: frame {k}")
                require_finite(forces, "forces", f"{label}: frame {k}")
            elif require_labels:
                raise ValueError(f"{label}: frame {k} has no energy and forces ({reason}); a positions-only "
                                 "trajectory needs require_labels=False") from cause
            else:
                missing.append((k, label, reason))
            t = temperature if temperature is not None else atoms.info.get("temperature", math.nan)
            rows.append((atoms.positions, atoms.cell.array, energy, forces, float(t)))
            labels.append(label)
        if missing and len(missing) < len(frames):
            k, label, reason = missing[0]
            raise ValueError(f"{label}: frame {k} has no energy and forces ({reason}), but "
                             f"{len(frames) - len(missing)} of the {len(frames)} frames have them; a Dataset is "
                             "either labelled or positions-only")
        columns = [np.array(column, dtype=np.float64) for column in zip(*rows, strict=True)]
        return cls(*columns, sources=np.array(labels, dtype=str), element=element)

    def to_frames(self) -> list[Atoms]:
        """``Atoms`` with ``info["temperature"]``, ``info["source"]`` and, if :attr:`labelled`, a
        ``SinglePointCalculator`` (positions-only frames have no calculator)."""
        frames = []
        for k in range(len(self)):
            atoms = Atoms([self.element] * self.n_atoms, positions=self.positions[k], cell=self.cells[k], pbc=True)
            if self.labelled:
                atoms.calc = SinglePointCalculator(atoms, energy=float(self.energies[k]),
                                                   forces=self.forces[k].copy())
            atoms.info.update(temperature=float(self.temperatures[k]), source=str(self.sources[k]))
            frames.append(atoms)
        return frames

    def save(self, path) -> Path:
        """Write the ``.npz`` described in the module docstring, atomically (temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        arrays = {name: getattr(self, name) for name in (*_FLOAT_FIELDS, "sources")}
        try:
            with open(tmp, "wb") as handle:  # a handle, so numpy does not append ".npz" to the name
                np.savez(handle, format=np.int64(FORMAT_VERSION), element=np.array(self.element), **arrays)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path) -> Dataset:
        """Read a file written by :meth:`save` (no pickle).

        Raises:
            ValueError: not such a file, an unknown format version, inconsistent shapes, or non-finite
                numbers (the message names the file, the frame and the array).
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                content = {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read a Dataset from {path}: {err}") from err
        missing = sorted({"format", "element", *_FLOAT_FIELDS, "sources"} - set(content))
        if missing:
            raise ValueError(f"{path}: not a ffdiff Dataset; missing {missing}")
        if int(content["format"]) != FORMAT_VERSION:
            raise ValueError(f"{path}: Dataset format {int(content['format'])}, this ffdiff reads {FORMAT_VERSION}")
        try:
            return cls(**{name: content[name] for name in (*_FLOAT_FIELDS, "sources")},
                       element=str(content["element"]))
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err

    def split(self, *, fractions=(0.6, 0.2, 0.2), seed: int, stratify: bool = True) -> dict[str, np.ndarray]:
        """:func:`split` of this dataset's frames, stratified by :attr:`sources` unless ``stratify=False``."""
        return split(len(self), fractions=fractions, seed=seed, groups=self.sources if stratify else None)


def split(n_frames: int, *, fractions=(0.6, 0.2, 0.2), seed: int, groups=None) -> dict[str, np.ndarray]:
    """Disjoint train/validation/test index arrays covering ``range(n_frames)``.

    Sizes: ``train = floor(f_train · n)``, ``validation = floor(f_validation · n)``, ``test`` the rest, so
    4297 frames give 2578/859/860, the split of Gangan et al.

    With ``groups`` (a label per frame, e.g. :attr:`Dataset.sources`) the split is stratified: each
    group's frames are shuffled and given evenly spaced ranks in (0, 1), and frames are assigned by rank
    across all groups. Every group then contributes within about one frame of its share to each split
    (so each split sees every condition that has a few frames), while the totals stay exactly the sizes
    above.

    Args:
        n_frames: number of frames.
        fractions: (train, validation, test) fractions, each ≥ 0, summing to 1.
        seed: seed of the numpy ``Generator``; the same seed gives the same split.
        groups: `[n_frames]` labels, or ``None`` for a plain random split.

    Returns:
        ``{"train", "validation", "test"}`` -> sorted int64 index arrays.
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ValueError(f"expected 3 fractions >= 0 summing to 1, got {fractions}")
    if n_frames < 0:
        raise ValueError(f"expected n_frames >= 0, got {n_frames}")
    groups = np.zeros(n_frames, dtype=int) if groups is None else np.asarray(groups)
    if groups.shape != (n_frames,):
        raise ValueError(f"expected {n_frames} group labels, got shape {groups.shape}")
    rng = np.random.default_rng(seed)
    rank = np.empty(n_frames)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        rank[rng.permutation(members)] = (np.arange(members.size) + 0.5) / members.size
    # Random tie-break, so equal-size groups do not always fill the train split in label order.
    order = np.lexsort((rng.permutation(n_frames), rank))
    n_train = math.floor(fractions[0] * n_frames + 1e-9)
    n_validation = math.floor(fractions[1] * n_frames + 1e-9)
    bounds = {"train": (0, n_train), "validation": (n_train, n_train + n_validation),
              "test": (n_train + n_validation, n_frames)}
    return {name: np.sort(order[lo:hi]).astype(np.int64) for name, (lo, hi) in bounds.items()}
