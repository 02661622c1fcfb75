"""The career-migration model: a Mesa model whose agent state lives in numpy arrays.

One simulated year is one :meth:`CareerModel.step`: each process of :data:`PROCESSES`
(``sim/processes/``, one module each) runs in the order listed there, then the year is
recorded. The model holds the population, the network, the random streams, the event log
and the yearly records, and offers the processes the moves between stages. It takes a
plain :class:`~sim.config.SimConfig` and returns results as arrays and tables; it knows
nothing of Hydra, files or plots.
"""

from __future__ import annotations

import mesa
import numpy as np

from . import kernels
from .agents import Person
from .config import SimConfig, validate
from .events import CAUSE, ENTRY_FROM, EventLog
from .network import Network
from .population import STAGES, STUDENT, Population
from .processes import abroad, electives, exams, exits, feedback, match, pathway, research, returnees, school
from .streams import Streams

# The year, in order: one process after another.
PROCESSES = (
    exits.Exits,             # death, retirement, dropout, leaving medicine
    school.Entry,            # this year's cohort enters medical school
    research.Research,       # research engagement while a student (POP2024)
    electives.Electives,     # international electives (SON2021, ELECTIVES)
    school.Graduation,       # graduation, home training
    pathway.Pathway,         # starting the pathway abroad (HEIST2018, IMGBLOG)
    exams.Exams,             # licensing exams
    match.Match,             # the match, visas, departure
    abroad.Abroad,           # training abroad, stay or return (NEWMAN2025, HEIST2018)
    returnees.Returnees,     # sector after return, drift to private practice (NEWMAN2025)
    feedback.Feedback,       # training quality and mentoring
)

FLOWS = (
    "entrants", "graduates", "students_enrolled", "elective_applications", "electives_accepted",
    "electives_started", "electives_hic", "electives_research", "scholarships", "research_started",
    "pathway_starts", "exams_passed", "applications", "matches", "visa_denied", "departures", "returns",
    "forced_returns", "gave_up", "exits",
)
ENV = ("home_training_quality", "mentor_found_prob", "positions", "world_pool", "elective_slots")


class ConfigError(ValueError):
    """A configuration the model cannot run; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class CareerModel(mesa.Model):
    """Medical students and graduates of one origin, and the destination they may train in.

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
        self.year = 0
        self.streams = Streams(config.seed)
        self.intake = int(round(config.scale * o.intake_per_year))
        self.initial_size = self.intake * (o.school_years - 1)
        capacity = self.initial_size + self.intake * config.years
        self.pop = Population(capacity)
        net = config.params.network
        self.network = Network(capacity, net.peers, net.alumni, net.alumni_span_years)
        self.events = EventLog()
        self._views: dict[int, Person] = {}
        self.ref = kernels.coefficients(config.params.reference)  # the reference person, for compiled rules
        # environment
        self.quality = float(o.training_quality_initial)
        self.mentor_found = float(o.research_mentor_found)
        self.quality_start = self.quality
        # records: one row per simulated year
        self.stock_records = np.zeros((config.years, len(STAGES)), dtype=np.int64)
        self.flow_records = np.zeros((config.years, len(FLOWS)), dtype=np.int64)
        self.env_records = np.zeros((config.years, len(ENV)), dtype=np.float64)
        self.flow = dict.fromkeys(FLOWS, 0)
        # bookkeeping that keeps the yearly step off full-population scans
        self.stocks = np.zeros(len(STAGES), dtype=np.int64)  # current stock by stage
        self._cohort_start: dict[int, int] = {}               # entry cohort -> first id (ids are contiguous)
        self.mobile = np.empty(0, dtype=np.int64)             # everyone who ever started the pathway abroad
        self.processes = {}
        for cls in PROCESSES:
            process = cls(self)
            self.processes[process.name] = process
        # Everyone the run will ever hold is drawn at set-up, cohort by cohort (attributes,
        # network ties, what processes decide in advance), so that entry only admits them.
        # First a full medical school at the start: student years 2..N (year 1 enters in step 1).
        for sy in range(o.school_years, 1, -1):
            self._draw_cohort(cohort=2 - sy, student_year=sy)
            self.admit(cohort=2 - sy, log=False)
        self.processes["research"].history(self)  # their research engagement before the start
        for cohort in range(1, config.years + 1):
            self._draw_cohort(cohort=cohort, student_year=1)
        self.network.finalize(self.pop.drawn)

    # ------------------------------------------------------------------ set-up
    def _draw_cohort(self, cohort: int, student_year: int) -> None:
        o, pop = self.cfg.origin, self.pop
        n = self.intake
        ids = pop.reserve(n)
        self._cohort_start[cohort] = int(ids[0]) if n else pop.drawn
        rng = self.streams.generator("population", cohort)
        pop.cohort[ids] = cohort
        pop.student_year[ids] = student_year
        pop.entry_age[ids] = o.entry_age
        pop.female[ids] = rng.random(n) < o.female_share
        pop.motivation[ids] = rng.beta(o.motivation.a, o.motivation.b, n)
        pop.english[ids] = rng.beta(o.english.a, o.english.b, n)
        pop.standing[ids] = rng.random(n)
        pop.resources[ids] = rng.beta(o.resources.a, o.resources.b, n)
        pop.family_home[ids] = rng.beta(o.family_ties_home.a, o.family_ties_home.b, n)
        pop.satisfaction_offset[ids] = rng.normal(0.0, o.training_satisfaction_sd, n)
        u = rng.random(n)
        pop.orientation[ids] = np.where(u < o.orientation_research_share, 1,
                                        np.where(u < o.orientation_research_share + o.orientation_policy_share, 2, 0))
        pop.time_barrier[ids] = rng.random(n) < o.time_barrier_share
        pop.pay_barrier[ids] = rng.random(n) < o.pay_barrier_share
        if o.second_section is not None:
            self._draw_second_section(ids, cohort)
        self.network.add_cohort(cohort, ids, self.streams.generator("network", cohort))
        for process in self.processes.values():
            process.on_cohort(self, ids, cohort)

    def _draw_second_section(self, ids: np.ndarray, cohort: int) -> None:
        """Students of the second section (POP2024) get that section's traits and barriers."""
        sec, pop = self.cfg.origin.second_section, self.pop
        rng = self.streams.generator("section", cohort)
        n = len(ids)
        inside = rng.random(n) < sec.share
        draws = {
            "motivation": rng.beta(sec.motivation.a, sec.motivation.b, n),
            "english": rng.beta(sec.english.a, sec.english.b, n),
            "family_home": rng.beta(sec.family_ties_home.a, sec.family_ties_home.b, n),
            "time_barrier": rng.random(n) < sec.time_barrier_share,
            "pay_barrier": rng.random(n) < sec.pay_barrier_share,
        }
        who = ids[inside]
        pop.section[who] = 1
        for name, values in draws.items():
            getattr(pop, name)[who] = values[inside]

    def admit(self, cohort: int, log: bool = True) -> np.ndarray:
        """The drawn cohort enters medical school."""
        pop, n = self.pop, self.intake
        ids = pop.admit(n)
        pop.stage[ids] = STUDENT
        pop.stage_since[ids] = max(self.year, 0)
        self.stocks[STUDENT] += n
        if self.materialize_agents:
            for agent in Person.create_agents(self, n, list(ids)):
                self._views[agent.pid] = agent
        if log:
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

    # ------------------------------------------------------------------ services for the processes
    def move(self, ids: np.ndarray, to_stage: int | np.ndarray, cause: str | np.ndarray) -> None:
        """Move ``ids`` to ``to_stage`` (one stage for all, or one per id) for ``cause`` (a cause
        name, or an array of cause codes), and log it."""
        if len(ids) == 0:
            return
        to = np.full(len(ids), to_stage, np.int8) if np.ndim(to_stage) == 0 else to_stage
        from_stage = kernels.move(ids, to, self.pop.stage, self.pop.stage_since, self.year, self.stocks)
        self.events.log(self.year, ids, from_stage, to_stage, cause)

    def cohort_bounds(self, first: int, last: int) -> tuple[int, int]:
        """Ids ``lo .. hi-1`` of everyone who entered in cohorts ``first`` .. ``last`` (inclusive) and has entered."""
        lo_c, hi_c = min(self._cohort_start), max(self._cohort_start)
        if last < lo_c or first > hi_c or last < first:
            return 0, 0
        start = self._cohort_start[max(first, lo_c)]
        end = self._cohort_start[last + 1] if last + 1 <= hi_c else self.pop.drawn
        return start, max(start, min(end, self.pop.n))

    def mobile_in(self, stage: int) -> np.ndarray:
        """Ids now in ``stage`` among those who ever started the pathway abroad."""
        return kernels.in_stage(self.mobile, self.pop.stage, stage)

    def uniform(self, stream: str, ids: np.ndarray, draw: int = 0) -> np.ndarray:
        """This year's uniforms of ``ids`` in ``stream``."""
        return self.streams.uniform(stream, self.year, ids, draw)

    # ------------------------------------------------------------------ the year
    def step(self) -> None:
        """One simulated year: every process in the order of :data:`PROCESSES`, then the record."""
        self.year += 1
        self.flow = dict.fromkeys(FLOWS, 0)
        for process in self.processes.values():
            process.step(self)
        self.record()

    def run(self) -> "CareerModel":
        for _ in range(self.cfg.years):
            self.step()
        return self

    def record(self) -> None:
        t = self.year - 1
        self.stock_records[t] = self.stocks
        self.flow_records[t] = [self.flow[k] for k in FLOWS]
        hic, lmic = self.processes["electives"].slots(self)
        self.env_records[t] = [self.quality, self.mentor_found, self.processes["match"].positions,
                               self.cfg.destination.world_pool_applicants, hic + lmic]


__all__ = ["CareerModel", "ConfigError", "FLOWS", "ENV", "CAUSE", "PROCESSES"]
