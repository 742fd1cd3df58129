"""Package namespaces whose public names load on first use: a job pays only for the modules it
uses (``ffdiff.data`` alone would otherwise import ASE's readers, phonopy and the archive tools)."""

import importlib


def attach(package: str, names: dict[str, str]):
    """Module-level ``__getattr__`` and ``__dir__`` for ``package`` serving ``names`` (name -> module)."""

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(names)

    return __getattr__, __dir__
