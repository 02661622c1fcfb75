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

import time

import mesa
import numpy as np

from . import kernels
from .agents import Person
from .config import SimConfig, neutral_policy, validate
from .events import CAUSE, ENTRY_FROM, EventLog
from .network import Network
from .population import EXITED, STAGES, STUDENT, Population
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


class ConfigError(ValueError):
    """A configuration the model cannot run; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class CareerModel(mesa.Model):
    """Medical students and graduates of one origin, and the destination they may train in.

    Building the model draws everyone and runs the spin-up; :meth:`run` (or ``years`` calls
    of :meth:`step`) runs the reported years.

    Args:
        config: the run's parameters (see ``configs/``); validated before anything runs.
        materialize_agents: register one :class:`~sim.agents.Person` per person in
            ``model.agents`` as they enter. Off (the default, and what ``python -m sim`` uses),
            Mesa agent objects are created lazily, one per person, when code asks for one with
            :meth:`person`; creating a Python object per entrant would dominate the yearly step.

    Raises:
        ConfigError: the configuration fails :func:`sim.config.validate`.
    """

    def __init__(self, config: SimConfig, materialize_agents: bool = False):
        errors = validate(config)
        if errors:
            raise ConfigError(errors)
        super().__init__(rng=int(config.seed))
        kernels.compile_all()
        self.cfg = config
        self.materialize_agents = materialize_agents
        o = config.origin
        self.burn_in = life.burn_in_years(config)
        self.first_cohort = 1 - self.burn_in
        self.year = self.first_cohort - 1
        self.streams = Streams(config.seed)
        self.intake = int(round(config.scale * o.intake_per_year))
        n_people = self.intake * (self.burn_in + config.years)
        self.pop = Population(n_people)
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
        self.processes = {}
        for cls in PROCESSES:
            process = cls(self)
            self.processes[process.name] = process
        # everyone the run will hold, drawn at once; then the spin-up
        t0 = time.perf_counter()
        lo = int(self.pop.reserve(n_people)[0]) if n_people else 0
        for process in self.processes.values():
            process.on_draw(self, lo, lo + n_people)
        t1 = time.perf_counter()
        for _ in range(self.burn_in):
            self.step()
        self._start_reporting()
        self.setup_seconds = {"draw": t1 - t0, "spin_up": time.perf_counter() - t1}

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
        pop.stage[ids] = STUDENT
        pop.stage_since[ids] = self.year
        self.stocks[STUDENT] += n
        if self.materialize_agents:
            for agent in Person.create_agents(self, n, list(ids)):
                self._views[agent.pid] = agent
        self.events.log(self.year, ids, ENTRY_FROM, STUDENT, "entry")
        self.flow["entrants"] += n
        return ids

    def person(self, pid: int) -> Person:
        """The Mesa agent for array position ``pid`` (created on first use if not materialised)."""
        agent = self._views.get(pid)
        if agent is None:
            if not 0 <= pid < self.pop.n:
                raise IndexError(f"no person with id {pid}")
            agent = Person(self, pid)
            self._views[pid] = agent
        return agent

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
        else:
            from_stage = kernels.move_to(ids, to_stage, pop.stage, pop.stage_since, self.year, self.stocks)
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

    def mobile_in(self, stage: int) -> np.ndarray:
        """Ids now in ``stage`` among those on the pathway, abroad or back (``mobile``: everyone who
        started the pathway this year or is still on it, abroad, or a returnee)."""
        return kernels.in_stage(self.mobile, self.pop.stage, stage)

    def uniform(self, stream: str, ids: np.ndarray, draw: int = 0) -> np.ndarray:
        """This year's uniforms of ``ids`` in ``stream``."""
        return self.streams.uniform(stream, self.year, ids, draw)

    # ------------------------------------------------------------------ the year
    def step(self) -> None:
        """One simulated year: every process in the order of :data:`PROCESSES`, then the record."""
        self.year += 1
        self.policy = self._policy if self.year >= self._policy.start_year else self._status_quo
        self.flow = dict.fromkeys(FLOWS, 0)
        for process in self.processes.values():
            process.step(self)
        self.mobile = kernels.still_mobile(self.mobile, self.pop.stage)  # no longer visit those gone or back home
        if self.year >= 1:
            self.record()

    def run(self) -> "CareerModel":
        """Run the reported years that remain."""
        while self.year < self.cfg.years:
            self.step()
        return self

    def record(self) -> None:
        t = self.year - 1
        self.stock_records[t] = self.stocks
        self.flow_records[t] = list(self.flow.values())  # in the order of FLOWS (see step)
        hic, lmic = self.processes["electives"].slots(self)
        self.env_records[t] = [self.quality, self.mentor_found, self.processes["match"].positions,
                               self.processes["match"].world, hic + lmic, self.academic_knowledge]


__all__ = ["CareerModel", "ConfigError", "FLOWS", "ENV", "CAUSE", "PROCESSES"]
