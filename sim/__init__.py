"""Agent-based simulation of medical careers across borders (Mesa).

The model classes are imported on first use, so that the command line can check a
configuration without paying for importing Mesa and the plotting stack.
"""

from .config import SimConfig, validate

__all__ = ["CareerModel", "ConfigError", "SimConfig", "validate"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("CareerModel", "ConfigError"):
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
