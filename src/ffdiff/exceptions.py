"""Named exceptions of ffdiff; each subclasses the built-in a caller would otherwise catch."""


class NeighborListOverflowError(RuntimeError):
    """More pairs or triplets than the neighbour list was allocated for; re-allocate it."""


class UnknownParameterError(KeyError):
    """A parameter name the potential does not have."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class ParameterFileError(ValueError):
    """A parameter file that cannot be read as the format it claims to be."""


class StructureError(ValueError):
    """A structure the potential cannot evaluate (wrong element, bad cell)."""


class UnidentifiableParametersError(ValueError):
    """Parameters the data cannot pin down: a singular Gauss–Newton matrix JᵀWJ."""


class EquilibriumError(RuntimeError):
    """A zero-pressure geometry that the solver did not reach, or that its neighbour list does not cover."""
