"""Plain configuration objects for the model core.

The model takes a :class:`SimConfig` and nothing else. These dataclasses carry no
behavioural values of their own: every number comes from the YAML files under
``configs/`` (with its source beside it), so a field left unset is an error, not a
silent default. The Hydra layer (``sim.app``) registers the same classes as structured
config schemas, which gives type checks; :func:`validate` adds the range checks.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

# The literal OmegaConf uses for "mandatory, not set"; kept local so the core does not
# import the configuration library.
MISSING: Any = "???"


def _f(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
       choices: tuple | None = None, default: Any = MISSING) -> Any:
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)


def prob() -> Any:
    """A probability or share, in [0, 1]."""
    return _f(0.0, 1.0)


def nonneg(hi: float | None = None) -> Any:
    return _f(0.0, hi)


def positive(hi: float | None = None) -> Any:
    return _f(0.0, hi, lo_open=True)


def real() -> Any:
    return _f()


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

    hic_slots: int = nonneg()
    lmic_slots: int = nonneg()
    cost_hic_usd: float = nonneg()
    cost_lmic_usd: float = nonneg()
    english_threshold_hic: float = prob()
    english_threshold_lmic: float = prob()
    max_per_student: int = _f(1, 5)


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
    family_ties_home: BetaDist = MISSING
    orientation_research_share: float = prob()
    orientation_policy_share: float = prob()
    family_funds_usd: float = nonneg()
    research_mentor_found: float = prob()
    time_barrier_share: float = prob()
    pay_barrier_share: float = prob()
    training_quality_initial: float = prob()
    training_quality_max: float = prob()
    training_satisfaction_sd: float = nonneg(1.0)
    public_system_satisfaction: float = prob()
    income_gap: float = nonneg(10.0)
    reintegration_difficulty: float = prob()
    knowledge_absorption: float = prob()
    emigration_culture: float = nonneg(10.0)
    electives: ElectiveHosts = MISSING


@dataclass
class DestinationConfig:
    """The training market abroad: exams, a capacity-limited match, visas, programme length."""

    name: str = MISSING
    img_positions: int = nonneg()
    world_pool_applicants: int = nonneg()
    world_pool_score_mean: float = real()
    world_pool_score_sd: float = positive(100.0)
    exams_required: int = _f(1, 6)
    exam_pass_prob: float = prob()
    exam_cost_usd: float = nonneg()
    j1_share: float = prob()
    waiver_prob: float = prob()
    visa_denial_prob: float = prob()
    training_years: list = _f(default=[])
    training_years_probs: list = _f(default=[])


@dataclass
class PolicyConfig:
    """Levers a school, the home country or the destination can pull."""

    name: str = MISSING
    scholarship_budget_usd: float = nonneg()
    scholarship_amount_usd: float = positive()
    elective_slots_multiplier: float = nonneg(100.0)
    img_positions_multiplier: float = nonneg(100.0)
    home_return_requirement: bool = MISSING
    visa_denial_multiplier: float = nonneg(100.0)
    returnee_premium: float = nonneg(10.0)
    reintegration_support: float = prob()
    training_quality_investment: float = nonneg(1.0)


@dataclass
class ReferencePerson:
    """The person whom every base probability describes.

    Logistic covariates are centred on these fixed values (not on the origin's own means),
    so an origin whose students have, say, stronger family ties really does behave
    differently. They are the Japan baseline means where the bases were calibrated.
    """

    motivation: float = prob()
    english: float = prob()
    resources: float = prob()
    family_ties_home: float = prob()
    income_gap: float = nonneg(10.0)
    reintegration_difficulty: float = prob()
    time_barrier: float = prob()
    pay_barrier: float = prob()
    training_quality: float = prob()
    mentor_found: float = _f(0.0, 1.0, lo_open=True)


@dataclass
class ResearchParams:
    """Research engagement while a student (POP2024)."""

    start_years: list = _f(default=[])
    base_hazard: list = _f(default=[])
    b_motivation: float = real()
    b_time_barrier: float = real()
    b_pay_barrier: float = real()
    b_orientation_research: float = real()
    publication_given_research: float = prob()
    mentor_per_academic_returnee: float = nonneg()


@dataclass
class ElectiveParams:
    """Applying for an international elective (SON2021, ELECTIVES)."""

    apply_base: float = prob()
    b_motivation: float = real()
    b_english: float = real()
    b_standing: float = real()
    b_resources: float = real()
    b_family: float = real()
    b_peers: float = real()
    prefer_hic: float = prob()
    b_hic_english: float = real()
    research_type_base: float = prob()
    b_research_type_engaged: float = real()
    afford_scale_usd: float = positive()
    host_priority_noise_sd: float = nonneg(100.0)


@dataclass
class ElectiveEffectParams:
    """What an elective does (SON2021 Box 2)."""

    role_model: float = prob()
    perspective_transformed: float = prob()
    research_tilt_given_research: float = prob()
    intl_health_given_lmic: float = prob()


@dataclass
class AbroadParams:
    """Starting the pathway to train abroad (HEIST2018, IMGBLOG)."""

    window_years: int = _f(1, 30)
    base_annual: float = prob()
    b_dissatisfaction: float = real()
    b_hic_elective: float = real()
    b_role_model: float = real()
    b_transformed: float = real()
    b_english: float = real()
    b_motivation: float = real()
    b_family_home: float = real()
    b_resources: float = real()
    b_peers_abroad: float = real()
    b_income_gap: float = real()
    b_research: float = real()
    b_research_tilt: float = real()
    b_intl_health: float = real()
    exam_b_standing: float = real()
    exam_b_english: float = real()
    exam_score_noise_sd: float = nonneg(100.0)
    exam_give_up_after_fail: float = prob()
    exam_give_up_cost_scale_usd: float = positive()
    max_prep_years: int = _f(1, 20)


@dataclass
class MatchParams:
    """Scoring and retrying in the capacity-limited match (IMGBLOG, ELECTIVES)."""

    w_exam: float = real()
    w_destination_experience: float = real()
    w_research: float = real()
    w_letters: float = real()
    origin_offset: float = real()
    noise_sd: float = nonneg(100.0)
    max_rounds: int = _f(1, 20)
    retry_prob: float = prob()


@dataclass
class ReturnParams:
    """Yearly stay-or-return decision after training (NEWMAN2025, HEIST2018)."""

    base_annual: float = prob()
    end_of_training_bump: float = real()
    b_family_home: float = real()
    b_family_abroad: float = real()
    family_abroad_tau_years: float = positive(100.0)
    b_wish_improve: float = real()
    wish_improve_base: float = prob()
    wish_improve_given_role_model: float = prob()
    b_income_gap: float = real()
    b_reintegration: float = real()
    b_years_abroad: float = real()
    during_training_annual: float = prob()


@dataclass
class SectorParams:
    """Sector after return, drift to private practice, knowledge transfer (NEWMAN2025)."""

    academic_base: float = real()
    private_base: float = real()
    b_public_policy_orientation: float = real()
    b_academic_research: float = real()
    b_academic_wish_improve: float = real()
    b_academic_research_tilt: float = real()
    b_private_disillusion: float = real()
    drift_to_private_base: float = prob()
    kt_mult_public: float = nonneg(5.0)
    kt_mult_private: float = nonneg(5.0)
    kt_mult_academic: float = nonneg(5.0)
    kt_reintegration_support_gain: float = nonneg(5.0)


@dataclass
class FeedbackParams:
    """Returnees in academic posts raise home training quality (HEIST2018)."""

    quality_gain_per_returnee_density: float = nonneg()
    density_per_doctors: float = positive()


@dataclass
class ExitParams:
    """Leaving the model: dropout, leaving medicine, death, retirement."""

    student_dropout_annual: float = prob()
    leave_medicine_annual: float = prob()
    mortality_gompertz_a: float = nonneg(1.0)
    mortality_gompertz_b: float = nonneg(1.0)
    retirement_age: float = _f(40, 100)


@dataclass
class NetworkParams:
    """Peer and alumni network."""

    peers: int = _f(0, 200)
    alumni: int = _f(0, 200)
    alumni_span_years: int = _f(1, 50)


@dataclass
class ParamsConfig:
    reference: ReferencePerson = MISSING
    research: ResearchParams = MISSING
    elective: ElectiveParams = MISSING
    elective_effects: ElectiveEffectParams = MISSING
    abroad: AbroadParams = MISSING
    match: MatchParams = MISSING
    returning: ReturnParams = MISSING
    sector: SectorParams = MISSING
    feedback: FeedbackParams = MISSING
    exit: ExitParams = MISSING
    network: NetworkParams = MISSING


@dataclass
class SimConfig:
    """Everything one run needs. ``scale`` is the share of the origin's real intake simulated."""

    seed: int = _f(0, 2**63 - 1)
    years: int = _f(1, 200)
    scale: float = positive(20.0)
    origin: OriginConfig = MISSING
    destination: DestinationConfig = MISSING
    policy: PolicyConfig = MISSING
    params: ParamsConfig = MISSING


# Top-level size limit: people ever simulated. Beyond it a run would not fit the
# memory budget of a laptop (about 2 KB a person with Mesa agent objects).
MAX_PEOPLE = 20_000_000


def _walk(obj: Any, prefix: str = ""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _walk(value, name + ".")
        else:
            yield name, f, value


def _describe_range(meta: dict) -> str:
    lo, hi = meta.get("lo"), meta.get("hi")
    left = "(" if meta.get("lo_open") else "["
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f"a number in {left}{lo_s}, {hi_s}]"


def validate(cfg: SimConfig) -> list[str]:
    """Every problem with ``cfg`` as one line naming the field, the value and what is allowed."""
    errors: list[str] = []
    for name, f, value in _walk(cfg):
        meta = f.metadata or {}
        if isinstance(value, str) and value == MISSING:
            errors.append(f"{name}: no value set; every parameter must be given in configs/")
            continue
        choices = meta.get("choices")
        if choices is not None:
            if value not in choices:
                errors.append(f"{name}: {value!r} is not allowed; choose one of {', '.join(choices)}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        lo, hi = meta.get("lo"), meta.get("hi")
        if not math.isfinite(value):
            errors.append(f"{name}: {value} is not allowed; expected a finite number")
            continue
        bad = (lo is not None and (value < lo or (meta.get("lo_open") and value == lo))) or (
            hi is not None and value > hi)
        if bad:
            errors.append(f"{name}: {value:g} is out of range; expected {_describe_range(meta)}")
    errors.extend(_cross_checks(cfg))
    return errors


def _list_of_numbers(name: str, values: Any, errors: list[str], lo: float | None = None,
                     hi: float | None = None) -> bool:
    if not isinstance(values, list) or not values:
        errors.append(f"{name}: {values!r} is not allowed; expected a non-empty list of numbers")
        return False
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (
                lo is not None and v < lo) or (hi is not None and v > hi):
            rng = _describe_range({"lo": lo, "hi": hi})
            errors.append(f"{name}: element {v!r} is not allowed; expected {rng}")
            return False
    return True


def _cross_checks(cfg: SimConfig) -> list[str]:
    errors: list[str] = []
    o, d, p = cfg.origin, cfg.destination, cfg.params
    if _list_of_numbers("origin.elective_years", o.elective_years, errors, 1, o.school_years):
        pass
    if o.orientation_research_share + o.orientation_policy_share > 1:
        errors.append(
            "origin.orientation_research_share + origin.orientation_policy_share: "
            f"{o.orientation_research_share + o.orientation_policy_share:g} exceeds 1; the shares must sum to at most 1")
    if o.training_quality_initial > o.training_quality_max:
        errors.append(f"origin.training_quality_initial: {o.training_quality_initial:g} exceeds "
                      f"origin.training_quality_max ({o.training_quality_max:g}); must be at most the maximum")
    ok_years = _list_of_numbers("destination.training_years", d.training_years, errors, 1, 15)
    ok_probs = _list_of_numbers("destination.training_years_probs", d.training_years_probs, errors, 0, 1)
    if ok_years and ok_probs:
        if len(d.training_years) != len(d.training_years_probs):
            errors.append("destination.training_years_probs: length "
                          f"{len(d.training_years_probs)} differs from destination.training_years "
                          f"({len(d.training_years)}); give one share per duration")
        elif abs(sum(d.training_years_probs) - 1) > 1e-6:
            errors.append(f"destination.training_years_probs: sums to {sum(d.training_years_probs):g}; "
                          "the shares must sum to 1")
    ok_start = _list_of_numbers("params.research.start_years", p.research.start_years, errors, 1, o.school_years)
    ok_haz = _list_of_numbers("params.research.base_hazard", p.research.base_hazard, errors, 0, 1)
    if ok_start and ok_haz and len(p.research.start_years) != len(p.research.base_hazard):
        errors.append("params.research.base_hazard: length "
                      f"{len(p.research.base_hazard)} differs from params.research.start_years "
                      f"({len(p.research.start_years)}); give one hazard per study year")
    people = cfg.scale * o.intake_per_year * (cfg.years + o.school_years)
    if math.isfinite(people) and people > MAX_PEOPLE:
        errors.append(f"scale: {cfg.scale:g} would simulate about {people:,.0f} people with "
                      f"origin.intake_per_year={o.intake_per_year} over years={cfg.years}; "
                      f"the limit is {MAX_PEOPLE:,} people")
    if math.isfinite(people) and round(cfg.scale * o.intake_per_year) < 1:
        errors.append(f"scale: {cfg.scale:g} gives fewer than one entrant a year with "
                      f"origin.intake_per_year={o.intake_per_year}; raise scale")
    return errors
