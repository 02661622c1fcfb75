"""Agent-based simulation of medical careers across borders (Mesa).

From Python::

    import sim
    model = sim.CareerModel(seed=1, scale=0.1, years=20, experiment="training_reform").run()
    cfg = sim.load_config(["origin=romania", "scale=0.1"])             # as `python -m sim` composes it
    cfg = sim.with_values(cfg, {"policy.returnee_premium": 0.2})       # change parameters, no composing

The model classes (Mesa, numba) and the composition (Hydra) are imported on first use, so that
the command line can check a configuration without paying for them. Importing the package
sets no matplotlib backend and imports no plotting.
"""

from .config import SimConfig, validate, with_values

__all__ = ["CareerModel", "ConfigError", "HorizonError", "SimConfig", "load_config", "validate", "with_values"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("CareerModel", "ConfigError", "HorizonError"):
        from . import model

        return getattr(model, name)
    if name == "load_config":
        from .compose import load_config

        return load_config
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
