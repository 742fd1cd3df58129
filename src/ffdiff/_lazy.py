"""Package namespaces whose public names load on first use: a job pays only for the modules it
uses (``ffdiff.data`` alone would otherwise import ASE's readers, phonopy and the archive tools, and
``ffdiff`` itself JAX)."""

import importlib


def attach(package: str, modules: dict[str, tuple[str, ...]]):
    """``(__all__, __getattr__, __dir__)`` for ``package``, serving the names each of ``modules``
    (module -> its public names) defines."""
    owner = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str):
        if name in owner:
            return getattr(importlib.import_module(owner[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(owner)

    return sorted(owner), __getattr__, __dir__
