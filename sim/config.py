"""Plain configuration objects for the model core.

The model takes a :class:`SimConfig` and nothing else. These dataclasses carry no
behavioural values of their own: every number comes from the YAML files under
``configs/`` (with its source beside it), so a field left unset is an error, not a
silent default. The Hydra layer (``sim.cli``) registers the same classes as structured
config schemas, which gives type checks; :func:`validate` adds the range checks.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional

from .processes.abroad import ReturnParams
from .processes.electives import ElectiveEffectParams, ElectiveParams
from .processes.exams import ExamParams
from .processes.feedback import FeedbackParams
from .processes.intention import IntentionParams, PathwayParams
from .processes.life import LifeParams, burn_in_years
from .processes.match import MatchParams
from .processes.research import ResearchParams
from .processes.returnees import ReturneeParams
from .schema import MAX_COUNT, MAX_USD, MISSING, _f, nonneg, positive, prob


@dataclass
class BetaDist:
    """A Beta(a, b) distribution for an attribute on [0, 1]."""

    a: float = positive(1e4)
    b: float = positive(1e4)

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


@dataclass
class ElectiveHosts:
    """Host-institution side of international electives open to this origin's students."""

    hic_slots: int = nonneg(MAX_COUNT)
    lmic_slots: int = nonneg(MAX_COUNT)
    destination_share: float = prob()
    cost_hic_usd: float = nonneg(MAX_USD)
    cost_lmic_usd: float = nonneg(MAX_USD)
    english_threshold_hic: float = prob()
    english_threshold_lmic: float = prob()
    max_per_student: int = _f(1, 5)


@dataclass
class SectionConfig:
    """A second section of the origin's schools whose students differ (POP2024: the
    international section, taught in English, beside the domestic one; its students are
    foreigners who mostly leave the origin after graduating)."""

    name: str = MISSING
    share: float = prob()
    motivation: BetaDist = MISSING
    english: BetaDist = MISSING
    home_ties: BetaDist = MISSING
    research_mentor_found: float = prob()
    time_barrier_share: float = prob()
    pay_barrier_share: float = prob()
    leave_after_graduation_share: float = prob()


@dataclass
class OriginConfig:
    """The home country and its medical schools."""

    name: str = MISSING
    intake_per_year: int = _f(1, 10_000_000)
    school_years: int = _f(3, 8)
    elective_years: list = _f(default=[])
    home_training_years: int = _f(1, 12)
    female_share: float = prob()
    entry_age: float = _f(15, 40)
    motivation: BetaDist = MISSING
    english: BetaDist = MISSING
    resources: BetaDist = MISSING
    home_ties: BetaDist = MISSING
    orientation_research_share: float = prob()
    orientation_policy_share: float = prob()
    family_funds_usd: float = nonneg(MAX_USD)
    research_mentor_found: float = prob()
    time_barrier_share: float = prob()
    pay_barrier_share: float = prob()
    training_quality_baseline: float = prob()
    training_quality_max: float = prob()
    training_satisfaction_sd: float = nonneg(1.0)
    public_system_satisfaction: float = prob()
    income_gap: float = nonneg(10.0)
    reintegration_difficulty: float = prob()
    knowledge_absorption: float = prob()
    emigration_culture: float = nonneg(10.0)
    exam_score_offset: float = _f(-5.0, 5.0)
    electives: ElectiveHosts = MISSING
    main_section: str = _f(default="domestic")
    second_section: Optional[SectionConfig] = None


@dataclass
class DestinationConfig:
    """The training market abroad: exams, a capacity-limited match against the rest of the
    world's applicants, visas, programme length."""

    name: str = MISSING
    img_positions: int = nonneg(MAX_COUNT)
    world_pool_applicants: int = nonneg(MAX_COUNT)
    world_pool_clinical_experience_share: float = prob()
    world_pool_research_share: float = prob()
    world_pool_letters_share: float = prob()
    exams_required: int = _f(1, 6)
    exam_pass_prob: float = prob()
    exam_cost_usd: float = nonneg(MAX_USD)
    j1_share: float = prob()
    waiver_prob: float = prob()
    home_residence_years: int = _f(0, 10)
    visa_denial_prob: float = prob()
    training_years: list = _f(default=[])
    training_years_probs: list = _f(default=[])


@dataclass
class PolicyConfig:
    """Levers a school, the home country or the destination can pull. Every lever takes
    effect from the reported year ``start_year`` (1, the first); before it (and during the
    spin-up) it is at its neutral value (:data:`POLICY_NEUTRAL`)."""

    name: str = MISSING
    start_year: int = _f(1, 200)
    scholarship_budget_usd: float = nonneg(MAX_USD)
    scholarship_amount_usd: float = _f(1.0, MAX_USD)  # at least one dollar
    scholarship_budget_multiplier: float = nonneg(100.0)
    elective_slots_multiplier: float = nonneg(100.0)
    img_positions_multiplier: float = nonneg(100.0)
    home_return_requirement: bool = MISSING
    visa_denial_multiplier: float = nonneg(100.0)
    returnee_premium: float = nonneg(10.0)
    reintegration_support: float = prob()
    training_quality_investment: float = nonneg(1.0)


# The levers at the status quo: what applies before policy.start_year. The J-1 two-year
# home-residence requirement is current US law (INA 212(e)).
POLICY_NEUTRAL = {
    "scholarship_budget_multiplier": 1.0,
    "elective_slots_multiplier": 1.0,
    "img_positions_multiplier": 1.0,
    "home_return_requirement": True,
    "visa_denial_multiplier": 1.0,
    "returnee_premium": 0.0,
    "reintegration_support": 0.0,
    "training_quality_investment": 0.0,
}


def neutral_policy(policy: PolicyConfig) -> PolicyConfig:
    """``policy`` with every lever at its neutral value (the status quo)."""
    return dataclasses.replace(policy, **POLICY_NEUTRAL)


@dataclass
class ReferencePerson:
    """The person whom every base probability describes.

    Logistic covariates are centred on these fixed values (not on the origin's own means),
    so an origin whose students have, say, stronger ties at home really does behave
    differently. They are the Japan baseline values where the bases were calibrated. The
    reference person has no partner, no dependent children and no parents needing care.
    """

    motivation: float = prob()
    english: float = prob()
    resources: float = prob()
    home_ties: float = prob()
    income_gap: float = nonneg(10.0)
    reintegration_difficulty: float = prob()
    time_barrier: float = prob()
    pay_barrier: float = prob()
    training_quality: float = prob()
    mentor_found: float = _f(0.0, 1.0, lo_open=True)
    knowledge_absorption: float = prob()
    age: float = _f(15, 80)


@dataclass
class NetworkParams:
    """Peer and alumni network."""

    peers: int = _f(0, 200)
    alumni: int = _f(0, 200)
    alumni_span_years: int = _f(1, 50)


@dataclass
class ParamsConfig:
    # central: every parameter at its central value; sampled: drawn from its prior
    # (configs/provenance/) for each run from the run's seed; posterior: drawn from the
    # origin's calibrated posterior (configs/posterior/<origin>.parquet, sim.posterior)
    uncertainty: str = _f(choices=("central", "sampled", "posterior"))
    reference: ReferencePerson = MISSING
    life: LifeParams = MISSING
    research: ResearchParams = MISSING
    elective: ElectiveParams = MISSING
    elective_effects: ElectiveEffectParams = MISSING
    intention: IntentionParams = MISSING
    pathway: PathwayParams = MISSING
    exams: ExamParams = MISSING
    match: MatchParams = MISSING
    returning: ReturnParams = MISSING
    returnees: ReturneeParams = MISSING
    feedback: FeedbackParams = MISSING
    network: NetworkParams = MISSING


@dataclass
class SimConfig:
    """Everything one run needs. ``scale`` is the share of the origin's real intake
    simulated; ``start_year`` the calendar year of the first reported year. ``base_seed``:
    None, the run spins up its own starting population from ``seed``; an integer, it starts
    from the base population spun up from ``base_seed`` (see :class:`sim.model.BasePopulation`),
    which runs differing only in ``seed`` share."""

    seed: int = _f(0, 2**63 - 1)
    base_seed: Optional[int] = _f(0, 2**63 - 1, default=None)
    years: int = _f(1, 200)
    scale: float = positive(20.0)
    start_year: int = _f(1800, 2300)
    origin: OriginConfig = MISSING
    destination: DestinationConfig = MISSING
    policy: PolicyConfig = MISSING
    params: ParamsConfig = MISSING


# Size limits, checked before a run starts. Memory was measured on Python 3.11 / numpy 2
# (`/usr/bin/time -f %M python -m sim ...`, benchmarks/): about 250 MB for the interpreter
# and libraries, plus about BYTES_PER_PERSON a person simulated (state arrays, the exit
# schedule, event log and output tables). Network ties take no memory (they are computed
# when read, see sim.network), and neither does the world pool of applicants (its ranks
# against the origin's applicants are drawn each year, see sim.processes.match): both add
# nothing to the estimate. People simulated include the spin-up cohorts (see
# people_simulated), about 860,000 at national scale over 35 years. Checked again with
# `/usr/bin/time -f %M python -m sim years=5 scale=1 ...` (Python 3.11, Mesa 3.3): 360 MB
# peak at the defaults, 357 MB with the world pool at its maximum
# (destination.world_pool_applicants=10000000) and 360 MB with the network at its maximum
# (params.network.peers=200 params.network.alumni=200), against an estimate of 376 MB for all
# three; tests/test_cli_edges.py repeats the comparison (slow).
MAX_PEOPLE = 10_000_000          # people ever simulated (spin-up cohorts plus every entrant): about 2.5 GB
BASE_MEMORY_BYTES = 250e6
BYTES_PER_PERSON = 220
BYTES_PER_PERSON_PER_TIE = 0     # ties are computed, not stored
WORLD_POOL_BYTES_PER_APPLICANT = 0   # the world pool is not stored


def people_simulated(cfg: SimConfig) -> float:
    """People a run creates: one cohort a year over the spin-up (the years simulated before the
    first reported one, :func:`sim.processes.life.burn_in_years`) and the reported years."""
    intake = round(cfg.scale * cfg.origin.intake_per_year)
    return intake * (burn_in_years(cfg) + cfg.years)


def memory_estimate_bytes(cfg: SimConfig) -> float:
    """Rough peak memory of a run (see the measurements above)."""
    ties = cfg.params.network.peers + cfg.params.network.alumni
    world = round(cfg.scale * cfg.destination.world_pool_applicants)
    return (BASE_MEMORY_BYTES + people_simulated(cfg) * (BYTES_PER_PERSON + BYTES_PER_PERSON_PER_TIE * ties)
            + world * WORLD_POOL_BYTES_PER_APPLICANT)


def _walk(obj: Any, prefix: str = ""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}{f.name}"
        if value is None and f.default is None:
            continue  # an optional block that is not used
        if dataclasses.is_dataclass(value):
            yield from _walk(value, name + ".")
        else:
            yield name, f, value


def _num(x: float) -> str:
    """A number as a person would write it: integers in full, others short."""
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x)}"
    return f"{x:g}"


def _as_typed(x: float) -> str:
    """A user's number in full (``1.0000001``, not ``1``): the shortest text that reads back as it."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return f"{int(x)}"
    return repr(x) if isinstance(x, float) else _num(x)


def _show(value: Any) -> str:
    """A user's value as written: quoted if it is text, ``3.0`` kept apart from ``3``."""
    if value is None:
        return "null"
    if _is_bool(value):
        return str(bool(value)).lower()
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value)) if math.isfinite(value) else str(float(value))
    return repr(value)


_KINDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a name",
          "list": "a list", "Optional[int]": "an integer or null"}


def _kind(f: dataclasses.Field) -> str:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return _KINDS.get(t, f"a group of settings ({t})")


def _describe_range(meta: dict, kind: str = "a number") -> str:
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is None and hi is None:
        return f"{kind} (finite)"
    left = "(" if meta.get("lo_open") else "["
    lo_s = "-inf" if lo is None else _num(lo)
    hi_s = "inf" if hi is None else _num(hi)
    return f"{kind} in {left}{lo_s}, {hi_s}]"


def describe_field(f: dataclasses.Field) -> str:
    """What a field allows, e.g. ``an integer in [1, 200]`` (used in error messages)."""
    kind = _kind(f)
    meta = f.metadata or {}
    if meta.get("choices") is not None:
        return f"one of {', '.join(map(str, meta['choices']))}"
    if kind == "an integer or null":
        return _describe_range(meta, "an integer") + " or null"
    if kind in ("an integer", "a number"):
        return _describe_range(meta, kind)
    return kind


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy's, without importing it


def _type_ok(f: dataclasses.Field, value: Any) -> bool:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    is_bool = _is_bool(value)
    if t in ("int", "Optional[int]"):  # None never reaches here (see _walk)
        return isinstance(value, numbers.Integral) and not is_bool
    if t == "float":
        return isinstance(value, numbers.Real) and not is_bool
    if t == "bool":
        return is_bool
    if t == "str":
        return isinstance(value, str)
    if t == "list":
        return isinstance(value, list)
    return True


def validate(cfg: SimConfig) -> list[str]:
    """Every problem with ``cfg`` as one line naming the field, the value and what is allowed.

    One problem gives one line: checks that combine fields (sums, sizes) are skipped when
    one of their fields already has a problem of its own.
    """
    errors: list[str] = []
    bad: set[str] = set()

    def err(name: str, line: str) -> None:
        bad.add(name)
        errors.append(line)

    for name, f, value in _walk(cfg):
        meta = f.metadata or {}
        if isinstance(value, str) and value == MISSING:
            err(name, f"{name}: no value set; every parameter must be given in configs/")
            continue
        if not _type_ok(f, value):
            err(name, f"{name}: {_show(value)} is not allowed; expected {describe_field(f)}")
            continue
        choices = meta.get("choices")
        if choices is not None:
            if value not in choices:
                err(name, f"{name}: {value!r} is not allowed; choose one of {', '.join(choices)}")
            continue
        if isinstance(value, str):
            if not value.strip():
                err(name, f"{name}: {value!r} is not allowed; expected a non-empty name")
            continue
        if _is_bool(value) or not isinstance(value, numbers.Real):
            continue
        lo, hi = meta.get("lo"), meta.get("hi")
        if not math.isfinite(value):
            err(name, f"{name}: {value} is not allowed; expected {describe_field(f)}")
            continue
        out = (lo is not None and (value < lo or (meta.get("lo_open") and value == lo))) or (
            hi is not None and value > hi)
        if out:
            err(name, f"{name}: {_as_typed(value)} is out of range; expected {describe_field(f)}")
    errors.extend(_cross_checks(cfg, bad))
    return errors


def _list_of_numbers(name: str, values: Any, errors: list[str], lo: float | None = None,
                     hi: float | None = None, integer: bool = False, distinct: bool = False) -> bool:
    kind = "integers" if integer else "numbers"
    if not isinstance(values, list) or not values:
        errors.append(f"{name}: {_show(values)} is not allowed; expected a non-empty list of {kind}")
        return False
    rng = _describe_range({"lo": lo, "hi": hi}, "an integer" if integer else "a number")
    for v in values:
        if _is_bool(v) or not isinstance(v, numbers.Real) or not math.isfinite(v) or (
                lo is not None and v < lo) or (hi is not None and v > hi) or (integer and v != int(v)):
            errors.append(f"{name}: element {_show(v)} is not allowed; every element must be {rng}")
            return False
    if distinct and len(set(values)) != len(values):
        errors.append(f"{name}: {_show(values)} repeats an element; each may appear once")
        return False
    return True


def _cross_checks(cfg: SimConfig, bad: set[str] | None = None) -> list[str]:
    """Checks that involve more than one field, or the elements of a list."""
    bad = bad or set()
    errors: list[str] = []
    o, d, p = cfg.origin, cfg.destination, cfg.params
    if not dataclasses.is_dataclass(o) or not dataclasses.is_dataclass(d) or not dataclasses.is_dataclass(p):
        return errors  # whole groups missing: already reported

    def ok(*names: str) -> bool:
        return not any(n in bad for n in names)

    school_ok = ok("origin.school_years")
    if school_ok and ok("origin.elective_years"):
        _list_of_numbers("origin.elective_years", o.elective_years, errors, 1, o.school_years, integer=True)
    if ok("origin.orientation_research_share", "origin.orientation_policy_share") and (
            o.orientation_research_share + o.orientation_policy_share > 1):
        errors.append(
            "origin.orientation_research_share + origin.orientation_policy_share: "
            f"{o.orientation_research_share + o.orientation_policy_share:g} exceeds 1; the shares must sum to at most 1")
    if ok("origin.training_quality_baseline", "origin.training_quality_max") and (
            o.training_quality_baseline > o.training_quality_max):
        errors.append(f"origin.training_quality_baseline: {o.training_quality_baseline:g} exceeds "
                      f"origin.training_quality_max ({o.training_quality_max:g}); must be at most the maximum")
    lp = p.life if dataclasses.is_dataclass(p.life) else None
    if lp is not None and ok("params.life.retirement_age_min", "params.life.retirement_age_max") and (
            lp.retirement_age_min > lp.retirement_age_max):
        errors.append(f"params.life.retirement_age_min: {lp.retirement_age_min:g} exceeds "
                      f"params.life.retirement_age_max ({lp.retirement_age_max:g}); must be at most the maximum")
    if lp is not None and ok("params.life.retirement_age_max", "origin.entry_age", "origin.school_years") and (
            lp.retirement_age_max <= o.entry_age + o.school_years):
        errors.append(f"params.life.retirement_age_max: {lp.retirement_age_max:g} is not after graduation "
                      f"(origin.entry_age {o.entry_age:g} + origin.school_years {o.school_years}); "
                      "a career needs at least a year")
    if ok("params.uncertainty", "origin.name") and getattr(p, "uncertainty", None) == "posterior":
        from .posterior import missing_line

        line = missing_line(str(o.name))
        if line:
            errors.append(line)
    pol = cfg.policy
    if dataclasses.is_dataclass(pol) and ok("policy.start_year", "years") and pol.start_year > cfg.years:
        errors.append(f"policy.start_year: {pol.start_year} is after the last reported year (years={cfg.years}); "
                      f"the levers take effect from a reported year, 1 to {cfg.years}")
    ok_years = ok("destination.training_years") and _list_of_numbers(
        "destination.training_years", d.training_years, errors, 1, 15, integer=True)
    ok_probs = ok("destination.training_years_probs") and _list_of_numbers(
        "destination.training_years_probs", d.training_years_probs, errors, 0, 1)
    if ok_years and ok_probs:
        if len(d.training_years) != len(d.training_years_probs):
            errors.append("destination.training_years_probs: length "
                          f"{len(d.training_years_probs)} differs from destination.training_years "
                          f"({len(d.training_years)}); give one share per duration")
        elif abs(sum(d.training_years_probs) - 1) > 1e-6:
            errors.append(f"destination.training_years_probs: {_show(d.training_years_probs)} sums to "
                          f"{sum(d.training_years_probs):g}; the shares must sum to 1")
    ok_start = school_ok and ok("params.research.start_years") and _list_of_numbers(
        "params.research.start_years", p.research.start_years, errors, 1, o.school_years, integer=True,
        distinct=True)
    ok_haz = ok("params.research.base_hazard") and _list_of_numbers(
        "params.research.base_hazard", p.research.base_hazard, errors, 0, 1)
    if ok_start and ok_haz and len(p.research.start_years) != len(p.research.base_hazard):
        errors.append("params.research.base_hazard: length "
                      f"{len(p.research.base_hazard)} differs from params.research.start_years "
                      f"({len(p.research.start_years)}); give one hazard per study year")
    # size: people, memory (and so time), and at least one entrant a year
    if ok("scale", "years", "origin.intake_per_year", "origin.school_years", "origin.entry_age",
          "params.life.retirement_age_max"):
        intake = cfg.scale * o.intake_per_year
        people = people_simulated(cfg)
        if round(intake) < 1:
            errors.append(f"scale: {_num(cfg.scale)} gives {intake:.2g} entrants a year with "
                          f"origin.intake_per_year={o.intake_per_year} (rounded to 0: an empty population); "
                          f"scale must be above {0.5 / o.intake_per_year:.2g}")
        elif people > MAX_PEOPLE:
            errors.append(f"scale: {_num(cfg.scale)} with years={cfg.years} and origin.intake_per_year="
                          f"{o.intake_per_year} would simulate {people:,.0f} people (spin-up included, about "
                          f"{memory_estimate_bytes(cfg) / 1e9:.1f} GB); the limit is {MAX_PEOPLE:,} people "
                          "(sim.config.MAX_PEOPLE); lower scale or years")
    return errors


def with_values(cfg: SimConfig, values: dict[str, Any], check: bool = True) -> SimConfig:
    """A copy of ``cfg`` with ``values`` set: the fast way to change parameters from Python
    (no Hydra composition; ``cfg`` itself is left unchanged).

    Args:
        cfg: a configuration, e.g. from :func:`sim.load_config`.
        values: dotted keys as on the command line, e.g.
            ``{"policy.returnee_premium": 0.2, "params.intention.b_income_gap": 0.5, "seed": 7}``.
        check: run :func:`validate` on the result (``False``: the caller validates later,
            as the model does when it is built).

    Raises:
        KeyError: a key that names no parameter (the message names the key).
        sim.model.ConfigError: ``check`` and a value of the wrong type or out of range
            (one line per problem, naming the key, the value and what is allowed).
    """
    new = copy.deepcopy(cfg)
    for key, value in values.items():
        *path, last = key.split(".")
        obj: Any = new
        for part in path:
            if not dataclasses.is_dataclass(obj) or not hasattr(obj, part):
                raise KeyError(f"{key}: no such parameter")
            obj = getattr(obj, part)
        if not dataclasses.is_dataclass(obj) or last not in {f.name for f in dataclasses.fields(obj)}:
            raise KeyError(f"{key}: no such parameter")
        setattr(obj, last, list(value) if isinstance(value, (list, tuple)) else value)
    if check:
        errors = validate(new)
        if errors:
            from .model import ConfigError

            raise ConfigError(errors)
    return new
