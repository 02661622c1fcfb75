"""The interactive page (Mesa's SolaraViz): choose an origin and an experiment, move the
policy levers, run, and watch the stocks and the pathway shares year by year.

Launch it with ``solara run sim/app.py`` (needs the ``viz`` extra: ``pip install -e '.[viz]'``).
Move the controls, press *Reset* to build the model with them, then *Step* or play.

The levers act on top of the chosen experiment: the multipliers multiply the experiment's own
(1 = the experiment as it is), the premium, support and investment are added to its value, and
the home-return requirement is the experiment's unless set here. Each lever is a key of
``configs/policy/`` (see :data:`LEVERS`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import solara

# Mesa's own page code trips Solara's rules-of-hooks check when it is imported; not ours to fix
warnings.filterwarnings("ignore", message=r".*`use_state` found despite early return", category=UserWarning)
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from sim.resources import CONFIG_DIR, experiment_folders
from sim.compose import load_config
from sim.config import with_values
from sim.model import CareerModel, current_row

ORIGINS = sorted(p.stem for p in (Path(CONFIG_DIR) / "origin").glob("*.yaml"))
# the experiments `experiment=NAME` finds: the user's own (CAREERSIM_EXPERIMENTS, ./experiments) and the shipped ones
EXPERIMENTS = sorted({p.stem for folder in experiment_folders() for p in folder.glob("*.yaml")})

# lever -> (key in configs/policy/, how it acts on the experiment's value, slider: min, max, step, label);
# "×" multiplies the experiment's value (1: as it is), "+" adds to it (0: as it is)
LEVERS = {
    "scholarship_budget": ("policy.scholarship_budget_multiplier", "times", 0.0, 5.0, 0.25,
                           "Scholarship budget ×"),
    "elective_slots": ("policy.elective_slots_multiplier", "times", 0.0, 3.0, 0.25,
                       "Elective slots ×"),
    "img_positions": ("policy.img_positions_multiplier", "times", 0.0, 2.0, 0.1,
                      "IMG positions ×"),
    "returnee_premium": ("policy.returnee_premium", "plus", 0.0, 0.5, 0.05,
                         "Returnee premium +"),
    "reintegration_support": ("policy.reintegration_support", "plus", 0.0, 1.0, 0.1,
                              "Reintegration support +"),
    "training_investment": ("policy.training_quality_investment", "plus", 0.0, 0.03, 0.005,
                            "Training investment +"),
}
HOME_RETURN = {"as in the experiment": None, "required": True, "waived": False}
HOME_RETURN_KEY = "policy.home_return_requirement"


class PolicyExplorer(CareerModel):
    """:class:`~sim.model.CareerModel` built from the page's controls: the experiment's
    configuration, then the levers applied on top of it (see the module's docstring)."""

    def __init__(self, origin: str = "japan", experiment: str = "baseline", scale: float = 0.05, years: int = 20,
                 seed: int = 20261122, home_return: str = "as in the experiment", scenario: Any = None,
                 **kwargs: float):
        levers = kwargs  # named ``kwargs``: Mesa's SolaraViz (3.3) accepts extra parameters only under that name
        unknown = sorted(set(levers) - set(LEVERS))
        if unknown:
            raise TypeError(f"unknown lever(s) {', '.join(unknown)}; the levers are {', '.join(LEVERS)}")
        cfg = load_config([f"origin={origin}", f"experiment={experiment}", f"scale={scale}", f"years={years}",
                           f"seed={seed}"])
        super().__init__(with_values(cfg, lever_values(cfg, levers, home_return)))


def lever_values(cfg, levers: dict[str, float], home_return: str = "as in the experiment") -> dict[str, Any]:
    """The policy values the levers give on top of ``cfg`` (dotted keys, for :func:`~sim.config.with_values`).

    Raises:
        ValueError: ``home_return`` is not one of :data:`HOME_RETURN`.
    """
    values: dict[str, Any] = {}
    for name, amount in levers.items():
        key, how, *_ = LEVERS[name]
        current = getattr(cfg.policy, key.split(".")[1])
        values[key] = current * float(amount) if how == "times" else current + float(amount)
    if home_return not in HOME_RETURN:
        raise ValueError(f"home_return: {home_return!r} is not allowed; expected one of {', '.join(HOME_RETURN)}")
    if HOME_RETURN[home_return] is not None:
        values[HOME_RETURN_KEY] = HOME_RETURN[home_return]
    return values


def model_params() -> dict[str, Any]:
    """The page's controls, in Mesa's ``model_params`` form."""
    params: dict[str, Any] = {
        "origin": {"type": "Select", "value": "japan", "values": ORIGINS, "label": "Origin"},
        "experiment": {"type": "Select", "value": "baseline", "values": EXPERIMENTS, "label": "Experiment"},
        "scale": {"type": "SliderFloat", "value": 0.05, "min": 0.01, "max": 0.3, "step": 0.01,
                  "label": "Scale"},
        "years": {"type": "SliderInt", "value": 20, "min": 2, "max": 35, "step": 1, "label": "Years"},
        "seed": 20261122,
        "home_return": {"type": "Select", "value": "as in the experiment", "values": list(HOME_RETURN),
                        "label": "J-1 home-return rule"},
    }
    for name, (_, how, lo, hi, step, label) in LEVERS.items():
        params[name] = {"type": "SliderFloat", "value": 1.0 if how == "times" else 0.0, "min": lo, "max": hi,
                        "step": step, "label": label}
    return params


AT_HOME = {"students": "tab:blue", "home_training": "tab:orange", "home_practice": "tab:green"}
MOBILE = {"preparing_abroad": "tab:olive", "training_abroad": "tab:red", "practising_abroad": "tab:purple",
          "returned_public": "tab:brown", "returned_private": "tab:pink", "returned_academic": "tab:gray"}
SHARES = {"share_preparing_abroad": "tab:olive", "share_abroad": "tab:red", "share_returned": "tab:brown"}


@solara.component
def Summary(model: CareerModel):
    """The year and the pathway shares now, as text."""
    from sim.model import PATHWAY

    update_counter.get()  # drawn again after every step

    row = current_row(model)  # also before the first step (the collector has a row per reported year)
    shares = ", ".join(f"{name.replace('_', ' ')} {100 * (row[f'share_{name}'] or 0):.2f}%" for name in PATHWAY)
    solara.Markdown(f"**{model.cfg.origin.name}, {model.cfg.policy.name}**, year {row['year']} "
                    f"({model.year} of {model.cfg.years}): {shares}; present {row['present']:,}")


@solara.component
def PathwayBars(model: CareerModel):
    """Where everyone present is now: the pathway shares as bars."""
    from sim.model import PATHWAY

    update_counter.get()

    row = current_row(model)
    fig = Figure(figsize=(5, 2.4))
    ax = fig.subplots()
    names = [name for name in PATHWAY if name != "at_home"]
    ax.barh(names, [100 * (row[f"share_{name}"] or 0) for name in names], color=["tab:olive", "tab:red", "tab:brown"])
    ax.set_xlabel("% of everyone present (the rest are at home)")
    fig.tight_layout()
    solara.FigureMatplotlib(fig, format="png")


def _log_scale(ax) -> None:
    ax.set_yscale("symlog")
    ax.set_ylabel("people")


def components() -> list:
    return [
        Summary,
        make_plot_component(AT_HOME, post_process=_log_scale),
        make_plot_component(MOBILE, post_process=_log_scale),
        make_plot_component(SHARES),
        PathwayBars,
    ]


page = SolaraViz(PolicyExplorer(), components=components(), model_params=model_params(),
                 name="Medical careers across borders")
