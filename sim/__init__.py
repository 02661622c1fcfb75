"""Agent-based simulation of medical careers across borders (Mesa)."""

from .config import SimConfig, validate
from .model import CareerModel, ConfigError

__all__ = ["CareerModel", "ConfigError", "SimConfig", "validate"]
__version__ = "0.1.0"
