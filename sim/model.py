"""The career-migration model: a Mesa model whose agent state lives in numpy arrays.

One simulated year is one :meth:`CareerModel.step`: each process of :data:`PROCESSES`
(``sim/processes/``, one module each) runs in the order listed there, then the year is
recorded. The model holds the population, the network, the random streams, the event log
and the yearly records, and offers the processes the moves between stages. It takes a
plain :class:`~sim.config.SimConfig` and returns results as arrays and tables; it knows
nothing of Hydra, files or plots.

**Time.** Simulation years ``t`` are integers: the reported years are ``1..years`` (calendar
years ``start_year .. start_year + years - 1``), and the spin-up years before them are
``t <= 0``. Building the model runs the spin-up (see :meth:`CareerModel.__init__`), so a
model starts at ``t = 0`` with a population in every stage; :meth:`step` then runs the
reported years.

**Spin-up.** The run starts from the model's own long-run state: it simulates
:func:`~sim.processes.life.burn_in_years` years (the longest career: up to the oldest
retirement age from medical-school entry) from an empty world, one cohort entering each
year, under the status-quo policy; by the first reported year everyone who can still be
working has been simulated from entry on. Those years are left out of every output (no
records, no events, no rates); people who left during them are not part of the reported
population. Everyone, spin-up cohorts included, is drawn at set-up in one compiled pass,
and no process visits people who have nothing to decide, so the spin-up costs its events,
not its person-years.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import numbers
import time
from typing import Any

import mesa
import numpy as np

from . import kernels
from .agents import Person
from .config import SimConfig, neutral_policy, validate, with_values
from .events import CAUSE, ENTRY_FROM, EventLog
from .network import Network
from .population import (EXITED, HOME_PRACTICE, HOME_TRAINING, MOBILE_FIXED, PRACTISING_ABROAD, PREPARING, RETURNED,
                         STAGES, STUDENT, TRAINING_ABROAD, Population)
from .processes import abroad, electives, exams, feedback, intention, life, match, research, returnees, school
from .streams import Streams

# The year, in order: one process after another.
PROCESSES = (
    life.Life,               # death, retirement, dropout, leaving medicine (drawn at set-up)
    school.Entry,            # this year's cohort enters medical school
    research.Research,       # research engagement while a student (POP2024)
    electives.Electives,     # international electives (SON2021, ELECTIVES)
    school.Graduation,       # graduation, home training
    intention.Intention,     # intending to train abroad, and acting on it (HEIST2018, IMGBLOG)
    exams.Exams,             # licensing exams, observerships
    match.Match,             # the match, visas, departure
    abroad.Abroad,           # training abroad, stay or return (NEWMAN2025, HEIST2018)
    returnees.Returnees,     # drift to private practice, leaving again (NEWMAN2025)
    feedback.Feedback,       # training quality and mentoring
)

FLOWS = (
    "entrants", "graduates", "students_enrolled", "elective_applications", "electives_accepted",
    "electives_started", "electives_hic", "electives_destination", "electives_research", "scholarships",
    "research_started", "intentions_formed", "intentions_lapsed", "pathway_starts", "exams_passed", "applications",
    "matches", "visa_denied", "departures", "returns", "forced_returns", "reemigrations", "gave_up", "exits",
)
ENV = ("home_training_quality", "mentor_found_prob", "positions", "world_pool", "elective_slots",
       "academic_knowledge")


# Mesa logs every call of step() at INFO: quiet unless the user has set Mesa's log level
_MESA_LOG = logging.getLogger("MESA")
if _MESA_LOG.level == logging.NOTSET:
    _MESA_LOG.setLevel(logging.WARNING)

# where people are, for the pathway shares: of everyone present (not exited)
PATHWAY = {
    "at_home": (STUDENT, HOME_TRAINING, HOME_PRACTICE),
    "preparing_abroad": (PREPARING,),
    "abroad": (TRAINING_ABROAD, PRACTISING_ABROAD),
    "returned": RETURNED,
}


class ConfigError(ValueError):
    """A configuration the model cannot run; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class HorizonError(RuntimeError):
    """A step asked of a model that has run every year of its horizon (nothing was changed)."""


# --- DataCollector reporters: module-level functions (picklable), reading the model's records

def current_row(model: "CareerModel") -> dict[str, Any]:
    """The DataCollector's row for the model as it is now (after the spin-up, before the first
    step: the initial population, flows 0), computed once per year from the stocks and records
    (every reporter reads one value of it: the yearly collection stays cheap)."""
    if model._row_year != model.year:
        stocks = model.stocks.tolist()
        present = sum(stocks) - stocks[EXITED]
        row: dict[str, Any] = {"year": int(model.calendar_year())}
        row.update(zip(STAGES, stocks))
        flows = model.flow_records[model.year - 1].tolist() if model.year >= 1 else [0] * len(FLOWS)
        row.update((name, flows[FLOWS.index(name)]) for name in KEY_FLOWS)
        row["present"] = present
        row.update((f"share_{name}", sum(stocks[j] for j in stages) / present if present else None)
                   for name, stages in PATHWAY.items())
        row["home_training_quality"] = float(model.quality)
        model._row, model._row_year = row, model.year
    return model._row


def _value(model: "CareerModel", name: str) -> Any:
    return current_row(model)[name]


# the flows the DataCollector gathers (the output contract's main flows; all of them are in
# model.flow_records and metrics.timeseries): few reporters keep the yearly collection cheap
KEY_FLOWS = ("entrants", "graduates", "electives_started", "applications", "matches", "departures", "returns",
             "exits")


def model_reporters() -> dict[str, Any]:
    """The DataCollector's model reporters: calendar year, the stock of every stage (end of
    year), the main flows of the year (:data:`KEY_FLOWS`), people
    present, the pathway shares (:data:`PATHWAY`: share of everyone present at home,
    preparing, abroad, returned; None when nobody is present), the home training-quality index."""
    names = ["year", *STAGES, *KEY_FLOWS, "present", *(f"share_{name}" for name in PATHWAY), "home_training_quality"]
    return {name: functools.partial(_value, name=name) for name in names}


class CareerModel(mesa.Model):
    """Medical students and graduates of one origin, and the destination they may train in.

    Building the model draws everyone and runs the spin-up; :meth:`run` (or ``years`` calls
    of :meth:`step`) runs the reported years. Two ways to build one::

        CareerModel(cfg)                                   # a SimConfig (sim.load_config, sim.with_values)
        CareerModel(seed=1, scale=0.1, years=20, experiment="training_reform",
                    **{"policy.returnee_premium": 0.2})    # composed from configs/ as `python -m sim` does

    The second form composes the same files with the same checks as the command line (Hydra
    is imported only then); keywords are command-line keys (dotted keys through ``**{...}``,
    or a mapping under a group: ``policy={"returnee_premium": 0.2}``), a string under a
    config group (``origin``, ``policy``, ``experiment``, ...) chooses its file. So
    ``mesa.batch_run(CareerModel, parameters={...})`` works directly.

    Mesa's conventions hold: ``datacollector`` (a :class:`mesa.DataCollector`) holds one row
    per reported year, collected at the end of each step (see :func:`model_reporters`; the
    population after the spin-up, before the first step, is ``initial_stocks`` and
    :func:`current_row`): row ``k`` is the row of ``steps == k + 1``, so ``mesa.batch_run``
    returns the last reported year by default and every reported year with
    ``data_collection_period=1``, on Mesa 3.3 and 3.5 alike; ``running`` turns False after the last year, and a step past
    it raises :class:`HorizonError` before anything changes; ``steps`` counts reported years
    (the spin-up is not counted); ``model.agents`` holds only people still in the model.

    Args:
        config: the run's parameters (see ``configs/``); validated before anything runs.
            Without it, the configuration is composed from ``kwargs``.
        materialize_agents: register one :class:`~sim.agents.Person` per person in
            ``model.agents`` as they enter (and remove them as they leave). Off (the default,
            and what ``python -m sim`` uses), Mesa agent objects are created lazily, one per
            person, when code asks for one with :meth:`person`; creating a Python object per
            entrant would dominate the yearly step.
        rng: Mesa's name for the seed (an integer; ``mesa.batch_run`` on Mesa 3.5 passes its
            ``rng`` values here). None: the configured ``seed``. Every draw of the model
            comes from counter-based streams keyed on this one integer.
        scenario: Mesa 3.5's scenario object (its SolaraViz passes one when it rebuilds a
            model); ignored: the model's parameters and seed come from its configuration.
        **kwargs: command-line keys and values (see above); only without ``config``.

    Raises:
        ConfigError: the configuration fails :func:`sim.config.validate`, or cannot be
            composed (one line per problem, naming the key, the value and what is allowed).
        TypeError: ``rng`` is not an integer, or configuration keywords are given with ``config``.
    """

    def __init__(self, config: SimConfig | None = None, *, materialize_agents: bool = False, rng: Any = None,
                 scenario: Any = None, base: "BasePopulation | None" = None, **kwargs: Any):
        config = self._configuration(config, rng, kwargs)
        errors = validate(config)
        if errors:
            raise ConfigError(errors)
        if base is not None and config.base_seed is None:
            raise ValueError("base: given for a configuration without base_seed; set base_seed to start from a "
                             "base population")
        super().__init__(rng=int(config.seed))
        # Mesa's step wrapper counts steps (and time) before calling step(); the horizon is
        # checked before it, so that a step too many changes nothing
        self._mesa_step = self.step
        self.step = self._step_within_horizon
        self._prepare(config, materialize_agents, config.seed, people=config.base_seed is None)
        t0 = time.perf_counter()
        if config.base_seed is None:
            # everyone the run will hold, drawn at once; then the spin-up
            self._draw(self.n_people)
            t1 = time.perf_counter()
            self._spin_up()
            seconds = {"draw": t1 - t0, "spin_up": time.perf_counter() - t1}
        else:  # the spin-up is the base population's (built here, or given); what comes after is this run's
            if base is None:
                base = BasePopulation(config)
            elif not base.fits(config):
                raise ValueError("base: built for another configuration; a base population serves only runs whose "
                                 "configuration differs from its own in seed alone")
            t1 = time.perf_counter()
            self._continue_from(base)
            seconds = {"draw": time.perf_counter() - t1, "spin_up": t1 - t0}
        self._start_reporting()
        self.setup_seconds = seconds
        self._row_year: int | None = None
        # no row for the spin-up: Mesa 3.3's batch_run reads row ``i`` as step ``i`` and stops
        # before ``steps``, so a row before the first step would hide the last reported year
        self.datacollector = mesa.DataCollector(model_reporters=model_reporters())
        self.running = config.years > 0
        kernels.report_compile_time()

    def _prepare(self, config: SimConfig, materialize_agents: bool, seed: int, people: bool = True) -> None:
        """Everything but drawing the people: sizes, streams from ``seed``, the population's
        arrays (without ``people``: none yet), network, records, processes."""
        kernels.compile_all()
        self.cfg = config
        self.materialize_agents = materialize_agents
        o = config.origin
        self.burn_in = life.burn_in_years(config)
        self.first_cohort = 1 - self.burn_in
        self.year = self.first_cohort - 1
        self.streams = Streams(seed)
        self.intake = int(round(config.scale * o.intake_per_year))
        self.n_people = n_people = self.intake * (self.burn_in + config.years)
        self.pop = Population(n_people) if people else None  # else a copy of the base's (see _continue_from)
        net = config.params.network
        self.network = Network(net.peers, net.alumni, net.alumni_span_years, self.first_cohort, self.intake,
                               self.streams.key("network", 0), n_people)
        self.events = EventLog()
        self.events.enabled = False  # nothing is logged during the spin-up
        self._views: dict[int, Person] = {}
        self.ref = kernels.coefficients(config.params.reference)  # the reference person, for compiled rules
        self._policy = config.policy
        self._status_quo = neutral_policy(config.policy)
        self.policy = self._status_quo
        # environment
        self.quality = float(o.training_quality_baseline)
        self.mentor_found = float(o.research_mentor_found)
        self.academic_knowledge = 0.0
        # records: one row per reported year
        self.stock_records = np.zeros((config.years, len(STAGES)), dtype=np.int64)
        self.flow_records = np.zeros((config.years, len(FLOWS)), dtype=np.int64)
        self.env_records = np.zeros((config.years, len(ENV)), dtype=np.float64)
        self.flow = dict.fromkeys(FLOWS, 0)
        # bookkeeping that keeps the yearly step off full-population scans
        self.stocks = np.zeros(len(STAGES), dtype=np.int64)  # current stock by stage
        self.mobile = np.empty(0, dtype=np.int64)             # everyone on the pathway, abroad or returned
        self.mobile_fixed = np.empty(0, kernels.record_type(MOBILE_FIXED))  # and what never changes of them
        self.processes = {}
        for cls in PROCESSES:
            process = cls(self)
            self.processes[process.name] = process

    def _draw(self, k: int) -> None:
        """Draw the next ``k`` people (every process draws what it can in advance)."""
        lo = int(self.pop.reserve(k)[0]) if k else 0
        for process in self.processes.values():
            process.on_draw(self, lo, lo + k)

    def _spin_up(self) -> None:
        for _ in range(self.burn_in):
            self._year()

    def _continue_from(self, population: "BasePopulation") -> None:
        """Start from a spun-up base population (left unchanged): its state copied, then this
        run's own streams for everything ahead: the later cohorts are drawn and everyone
        waiting for a candidate year of the intention rule draws it again."""
        base = population.model
        self.year = base.year
        self.quality, self.mentor_found, self.academic_knowledge = base.quality, base.mentor_found, \
            base.academic_knowledge
        self.stocks = base.stocks.copy()
        self.mobile, self.mobile_fixed = base.mobile.copy(), base.mobile_fixed.copy()
        self.pop = Population.continued(base.pop, population.take_spare())
        self.network = base.network.copy()  # the ties are the base population's
        for name, process in self.processes.items():
            process.take_state(base.processes[name])
            process.use_streams(self.streams)
        self._draw(self.n_people - self.pop.drawn)
        self.processes["intention"].restart(self, self.year + 1)
        if self.materialize_agents:
            self._add_agents(np.flatnonzero(self.pop.stage[: self.pop.n] != EXITED))

    def _add_agents(self, ids: np.ndarray) -> None:
        """Mesa agents (views of the arrays) for ``ids``, in order."""
        for agent in Person.create_agents(self, len(ids), list(ids)):
            self._views[agent.pid] = agent

    @staticmethod
    def _configuration(config: SimConfig | None, rng: Any, overrides: dict[str, Any]) -> SimConfig:
        """The configuration to run: ``config``, or composed from ``overrides``; ``rng`` as its seed."""
        if rng is not None and (isinstance(rng, bool) or not isinstance(rng, numbers.Integral)):
            raise TypeError(f"rng: {rng!r} is not allowed; expected an integer seed (every draw of the model "
                            "comes from counter-based streams keyed on it), or None for the configured seed")
        if config is not None:
            if overrides:
                raise TypeError(f"CareerModel(config, ...) takes no configuration keywords ({', '.join(overrides)}); "
                                "change a config with sim.with_values(config, {...}), or give only keywords")
        else:
            from .checks import UserError
            from .compose import load_config, overrides_from

            if rng is not None and "seed" in overrides and int(overrides["seed"]) != int(rng):
                raise TypeError(f"seed={overrides['seed']} and rng={rng} disagree; give one of them")
            try:
                config = load_config(overrides_from(overrides))
            except UserError as err:
                raise ConfigError(err.lines) from None
        if rng is not None and int(rng) != config.seed:
            config = with_values(config, {"seed": int(rng)}, check=False)
        return config

    def _start_reporting(self) -> None:
        """The first reported year begins: the population now present is the initial population."""
        self.stocks[EXITED] = 0  # those who left during the spin-up are not part of the reported world
        self.initial_size = int(self.stocks.sum())
        self.initial_stocks = self.stocks.copy()
        self.initial_stage = self.pop.stage[: self.pop.n].copy()
        self.quality_start = self.quality
        self.events.enabled = True

    # ------------------------------------------------------------------ people
    def admit(self, cohort: int) -> np.ndarray:
        """The drawn cohort enters medical school."""
        pop, n = self.pop, self.intake
        ids = pop.admit(n)
        lo = pop.n - n  # the cohort's ids are contiguous: slices, not scattered writes
        pop.stage[lo:pop.n] = STUDENT
        pop.stage_since[lo:pop.n] = self.year
        self.stocks[STUDENT] += n
        if self.materialize_agents:
            self._add_agents(ids)
        self.events.log(self.year, ids, ENTRY_FROM, STUDENT, "entry")
        self.flow["entrants"] += n
        return ids

    def person(self, pid: int) -> Person:
        """The Mesa agent for array position ``pid`` (created on first use if not materialised).

        A person who has left is still readable through their agent, but is not in
        ``model.agents``.

        Raises:
            IndexError: nobody with that id has entered yet.
        """
        agent = self._views.get(pid)
        if agent is None:
            if not 0 <= pid < self.pop.n:
                raise IndexError(f"no person with id {pid} (ids 0..{self.pop.n - 1} have entered)")
            agent = Person(self, pid)
            self._views[pid] = agent
            if self.pop.stage[pid] == EXITED:
                agent.remove()
        return agent

    def _leave_agents(self, ids: np.ndarray) -> None:
        """Those of ``ids`` who have a Mesa agent leave ``model.agents`` (they have left the model)."""
        for pid in ids.tolist():
            agent = self._views.get(pid)
            if agent is not None:
                agent.remove()

    def calendar_year(self, t=None):
        """The calendar year of simulation year ``t`` (default: the current one); works on arrays."""
        return self.cfg.start_year - 1 + (self.year if t is None else t)

    def age(self, ids: np.ndarray, t=None) -> np.ndarray:
        """Ages of ``ids`` in simulation year ``t`` (default: now)."""
        return self.cfg.origin.entry_age + ((self.year if t is None else t) - self.pop.cohort[ids])

    # ------------------------------------------------------------------ services for the processes
    def move(self, ids: np.ndarray, to_stage: int | np.ndarray, cause: str | np.ndarray) -> None:
        """Move ``ids`` to ``to_stage`` (one stage for all, or one per id) for ``cause`` (a cause
        name, or an array of cause codes), and log it."""
        if len(ids) == 0:
            return
        pop = self.pop
        if isinstance(to_stage, np.ndarray):
            from_stage = kernels.move(ids, to_stage, pop.stage, pop.stage_since, self.year, self.stocks)
            if self._views:
                self._leave_agents(ids[to_stage == EXITED])
        else:
            from_stage = kernels.move_to(ids, to_stage, pop.stage, pop.stage_since, self.year, self.stocks)
            if self._views and to_stage == EXITED:
                self._leave_agents(ids)
        if self.events.enabled:
            self.events.log(self.year, ids, from_stage, to_stage, cause)

    def cohort_bounds(self, first: int, last: int) -> tuple[int, int]:
        """Ids ``lo .. hi-1`` of everyone who entered in cohorts ``first`` .. ``last`` (inclusive) and has entered."""
        first = max(first, self.first_cohort)
        if last < first:
            return 0, 0
        lo = (first - self.first_cohort) * self.intake
        hi = min((last + 1 - self.first_cohort) * self.intake, self.pop.n)
        return lo, max(lo, hi)

    def join_mobile(self, ids: np.ndarray) -> None:
        """``ids`` (at home until now, so not in ``mobile`` yet) start the pathway: append them."""
        pop = self.pop
        fixed = np.empty(len(ids), self.mobile_fixed.dtype)
        kernels.fixed_records(ids, pop.cohort, pop.home_ties, pop.partner_age, pop.child_age, pop.care_age,
                              pop.retire_age, fixed)
        self.mobile = np.concatenate([self.mobile, ids])
        self.mobile_fixed = np.concatenate([self.mobile_fixed, fixed])

    def mobile_in(self, stage: int) -> np.ndarray:
        """Ids now in ``stage`` among those on the pathway, abroad or back (``mobile``: everyone who
        started the pathway this year or is still on it, abroad, or a returnee)."""
        return kernels.in_stage(self.mobile, self.pop.stage, stage)

    def uniform(self, stream: str, ids: np.ndarray, draw: int = 0) -> np.ndarray:
        """This year's uniforms of ``ids`` in ``stream``."""
        return self.streams.uniform(stream, self.year, ids, draw)

    # ------------------------------------------------------------------ the year
    def _step_within_horizon(self) -> None:
        """What ``model.step()`` calls: refuse a year past the horizon, else Mesa's step (which
        counts the step and calls :meth:`step`)."""
        if self.year >= self.cfg.years:
            last = self.calendar_year(self.cfg.years)
            raise HorizonError(f"the model has run all {self.cfg.years} years of its horizon (the last is {last}); "
                               "nothing was changed. Build a model with a longer horizon (years=...) to go further")
        self._mesa_step()

    def step(self) -> None:
        """One reported year (Mesa's step): the year, then the DataCollector's row; ``running``
        turns False after the last year. Calls past the horizon raise :class:`HorizonError`."""
        self._year()
        self.datacollector.collect(self)
        if self.year >= self.cfg.years:
            self.running = False

    def _year(self) -> None:
        """One simulated year: every process in the order of :data:`PROCESSES`, then the record."""
        self.year += 1
        self.policy = self._policy if self.year >= self._policy.start_year else self._status_quo
        self.flow = dict.fromkeys(FLOWS, 0)
        for process in self.processes.values():
            process.step(self)
        # no longer visit those gone or back home
        self.mobile, self.mobile_fixed = kernels.still_mobile(self.mobile, self.mobile_fixed, self.pop.stage)
        if self.year >= 1:
            self.record()

    def run(self) -> "CareerModel":
        """Run the reported years that remain."""
        while self.year < self.cfg.years:
            self.step()
        kernels.report_compile_time()  # loops first needed in the reported years
        return self

    def record(self) -> None:
        t = self.year - 1
        self.stock_records[t] = self.stocks
        self.flow_records[t] = list(self.flow.values())  # in the order of FLOWS (see step)
        hic, lmic = self.processes["electives"].slots(self)
        self.env_records[t] = [self.quality, self.mentor_found, self.processes["match"].positions,
                               self.processes["match"].world, hic + lmic, self.academic_knowledge]


class BasePopulation:
    """The population a run with ``base_seed`` starts from: everyone who entered in the spin-up
    years, drawn and spun up with the random streams of ``base_seed`` (not ``seed``), as they
    stand at the end of the spin-up, with the network's ties and the environment.

    A :class:`CareerModel` with ``base_seed`` set copies it, then goes on with the streams of
    its own ``seed``: the cohorts entering in the reported years, every decision from the
    first reported year on, and the next candidate year of everyone waiting to form the
    intention to train abroad are its own. What the base population holds is shared: its
    people's traits and drawn life courses (retirement age, family events, age at death)
    and the ties of the network. Runs whose configurations differ in ``seed`` alone can
    start from one base population (``CareerModel(cfg, base=base)``), which saves the
    spin-up of all but the first; a run given no base population builds its own, with the
    same result.

    Args:
        config: the configuration (``base_seed`` set); validated before anything runs.

    Raises:
        ConfigError: the configuration fails :func:`sim.config.validate`.
        ValueError: ``base_seed`` is not set.
    """

    def __init__(self, config: SimConfig):
        errors = validate(config)
        if errors:
            raise ConfigError(errors)
        if config.base_seed is None:
            raise ValueError("base_seed: not set; a base population is drawn from base_seed's streams")
        self.config = config
        t0 = time.perf_counter()
        model = CareerModel.__new__(CareerModel)
        mesa.Model.__init__(model, rng=int(config.base_seed))
        model._prepare(config, False, config.base_seed)
        model._draw(model.intake * model.burn_in)
        model._spin_up()
        self.model = model
        self._spare = None
        self.seconds = time.perf_counter() - t0

    def recycle(self, model: CareerModel) -> None:
        """Keep the population arrays of ``model``, a finished run from this base population,
        for the next run to write over (it saves that run the cost of new memory); ``model``
        loses them (``model.pop`` becomes None) and must not be used again."""
        if model.pop is not None and model.pop is not self.model.pop:
            self._spare, model.pop = model.pop, None

    def take_spare(self):
        """The population arrays left by :meth:`recycle` (None if none), handed over once."""
        spare, self._spare = self._spare, None
        return spare

    def fits(self, config: SimConfig) -> bool:
        """Whether a run of ``config`` can start from this base population: its configuration
        differs from the one this was built for in ``seed`` alone."""
        return dataclasses.replace(config, seed=0) == dataclasses.replace(self.config, seed=0)


__all__ = ["BasePopulation", "CareerModel", "ConfigError", "HorizonError", "FLOWS", "ENV", "CAUSE", "KEY_FLOWS", "PATHWAY", "PROCESSES",
           "model_reporters"]
