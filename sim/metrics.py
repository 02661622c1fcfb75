"""Turn a finished model into the output contract: time series, events and the summary.

Names and meanings follow docs/metrics.md (the project's output contract). Everything here
reads the model's arrays and records; nothing is written to disk (see ``sim.outputs``).

A share whose denominator is empty (nobody eligible inside the horizon) is ``None`` (``null``
in summary.json, NaN in tables), never 0 or 1, and every share has its denominator beside it
as ``<metric>_n``, so that readers can weight runs and subgroups and filter thin ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .events import CAUSE, CAUSES
from .model import ENV, FLOWS, CareerModel
from .population import (ELECTIVE_PLACES, ELECTIVE_TYPES, EXITED, NO_YEAR, NONE,
                         PRACTISING_ABROAD, RETURNED, SECTORS, STAGES, TRAINING_ABROAD)

# flows published in timeseries.parquet (the contract's names first, then extras)
PUBLISHED_FLOWS = ("entrants", "graduates", "electives_started", "applications", "matches", "departures",
                   "returns", "students_enrolled", "elective_applications", "electives_accepted", "electives_hic",
                   "electives_destination", "electives_research", "scholarships", "research_started",
                   "intentions_formed", "intentions_lapsed", "pathway_starts", "exams_passed", "visa_denied",
                   "forced_returns", "reemigrations", "gave_up", "exits")

RETURN_NEAR_RETIREMENT_AGE = 55  # returns at this age or later count as returns near the end of a career


def timeseries(model: CareerModel) -> pd.DataFrame:
    """One row per reported year (``year`` is the calendar year): stocks at the end of the
    year, flows during it, the environment, and the initial population."""
    years = model.cfg.years
    columns = {"year": model.calendar_year(np.arange(1, years + 1))}
    columns.update((name, model.stock_records[:, j]) for j, name in enumerate(STAGES))
    columns.update((name, model.flow_records[:, FLOWS.index(name)]) for name in PUBLISHED_FLOWS)
    columns.update((name, model.env_records[:, j]) for j, name in enumerate(ENV))
    columns["initial_population"] = np.full(years, model.initial_size, np.int64)
    return pd.DataFrame(columns)


def events(model: CareerModel) -> pd.DataFrame:
    """One row per change of stage in the reported years (``year`` is the calendar year)."""
    ev = model.events.arrays()
    stage_names = pd.CategoricalDtype(list(STAGES))
    frm = pd.Categorical.from_codes(ev["from_stage"].astype(np.int64), dtype=stage_names)  # -1 -> missing
    return pd.DataFrame({
        "year": model.calendar_year(ev["year"].astype(np.int32)),
        "agent_id": ev["agent_id"],
        "from_stage": frm,
        "to_stage": pd.Categorical.from_codes(ev["to_stage"].astype(np.int64), dtype=stage_names),
        "cause": pd.Categorical.from_codes(ev["cause"].astype(np.int64), dtype=pd.CategoricalDtype(list(CAUSES))),
    })


def _share(num, den) -> tuple[float | None, int]:
    """``(sum(num) / sum(den), sum(den))``; the share is ``None`` when the denominator is empty.

    ``num`` and ``den`` are counts or boolean arrays (summed); the denominator is returned
    as an integer count for the metric's ``<metric>_n``.
    """
    num, den = float(_count(num)), float(_count(den))
    return (num / den if den > 0 else None), int(round(den))


def _count(x):
    """``np.sum(x)``; a boolean array is counted (far quicker than summing it)."""
    if isinstance(x, np.ndarray) and x.dtype == np.bool_:
        return np.count_nonzero(x)
    return np.sum(x)


def _expand(metrics: dict) -> dict:
    """Each ``(share, n)`` pair becomes the share under its name and its denominator under
    ``<name>_n``, in that order; other values are kept as they are."""
    out = {}
    for name, value in metrics.items():
        if isinstance(value, tuple):
            out[name], out[f"{name}_n"] = value
        else:
            out[name] = value
    return out


def km_median(durations: np.ndarray, observed: np.ndarray) -> tuple[float | None, int | None]:
    """Kaplan-Meier median of ``durations`` (events where ``observed``, else censored).

    Returns (median, censored_flag); when the curve never falls to 0.5 the median is the
    longest follow-up and the flag is 1. With no durations at all both are ``None``.
    """
    if len(durations) == 0:
        return None, None
    times, events = np.unique(durations[observed], return_counts=True)
    # at risk at t: durations >= t, counted from the sorted durations (one search, not one scan per time)
    at_risk = len(durations) - np.searchsorted(np.sort(durations), times, side="left")
    surv = 1.0
    for t, events_t, n_t in zip(times, events, at_risk):
        if n_t > 0:
            surv *= 1.0 - events_t / n_t
        if surv <= 0.5:
            return float(t), 0
    return float(durations.max()), 1


def _pathway_outcomes(stage: np.ndarray) -> dict:
    """Where graduates who started training abroad are at the end of the horizon (``stage``:
    their stages), as shares that sum to 1: back home by sector, abroad (training
    or practising), or anything else (exited, or at home outside the returned stages)."""
    n = len(stage)
    returned = {f"pathway_returned_{s}_share": _share(stage == code, n) for s, code in zip(SECTORS, RETURNED)}
    abroad = np.isin(stage, (TRAINING_ABROAD, PRACTISING_ABROAD))
    other = ~abroad & ~np.isin(stage, RETURNED)
    return {**returned, "pathway_abroad_share": _share(abroad, n), "pathway_other_share": _share(other, n)}


_GROUP_FLAGS = ("elective_share_cohort", "intention_share", "went_abroad_share", "applicant_share",
                "research_engagement_share", "publication_share")


def _graduate_flags(model: CareerModel, grads: np.ndarray) -> dict[str, np.ndarray]:
    """Per graduate, the events the subgroup shares count (gathered once for all subgroups)."""
    pop, horizon = model.pop, model.year
    done = pop.training_done_year[grads]
    eligible10 = (done >= 1) & (done <= horizon - 10)
    ret = pop.first_return_year[grads]
    return {
        "elective_share_cohort": pop.n_electives[grads] > 0,
        "intention_share": pop.intention_year[grads] != NO_YEAR,
        "went_abroad_share": pop.abroad_start[grads] != NO_YEAR,
        "applicant_share": pop.pathway_year[grads] != NO_YEAR,
        "research_engagement_share": pop.research[grads],
        "publication_share": pop.publication[grads],
        "eligible10": eligible10,
        "back10": eligible10 & (ret != NO_YEAR) & (ret - done <= 10),
    }


def _group_metrics(flags: dict[str, np.ndarray], members: np.ndarray) -> dict:
    """The subgroup metrics for the graduates selected by the boolean mask ``members``."""
    n = int(np.count_nonzero(members))
    out: dict = {"graduates_total": n}
    for name in _GROUP_FLAGS:
        out[name] = _share(np.count_nonzero(flags[name] & members), n)
    out["return_share_10y"] = _share(np.count_nonzero(flags["back10"] & members),
                                     np.count_nonzero(flags["eligible10"] & members))
    return _expand({k: out[k] for k in GROUP_METRICS})


# The names ``summary`` returns (each share also with its ``<metric>_n``), so that a metric
# named by a user (``objective=``) can be checked before anything runs; a test keeps these
# equal to what ``summary`` returns.
SUMMARY_METRICS = (
    "graduates_total", "elective_rate_annual", "elective_share_cohort", "elective_share_hic",
    "elective_share_destination", "elective_share_research", "elective_oversubscription",
    "research_engagement_share", "publication_share", "intention_share", "applicant_share",
    "went_abroad_share", "match_rate", "first_attempt_match_share", "eventual_match_share",
    "return_share_5y", "return_share_10y", "median_years_abroad", "median_years_abroad_censored",
    "returnee_share_public", "returnee_share_private", "returnee_share_academic", "knowledge_transfer_index",
    "knowledge_transfer_index_academic", "home_training_quality_start", "home_training_quality_end",
    "abroad_share_end", "entrants_total", "initial_population", "departures_total", "returns_total",
    "forced_returns_total", "reemigrations_total", "returns_near_retirement_total", "retirements_total",
    "deaths_total", "median_retirement_age", "matched_share", "pathway_returned_public_share",
    "pathway_returned_private_share", "pathway_returned_academic_share", "pathway_abroad_share",
    "pathway_other_share")
# the life table of return after training abroad: ``return_life_table.<column>[d]``, d = whole years
LIFE_TABLE = "return_life_table"
LIFE_TABLE_COLUMNS = ("returned", "censored")
GROUP_METRICS = ("graduates_total", "elective_share_cohort", "intention_share", "went_abroad_share",
                 "applicant_share", "return_share_10y", "research_engagement_share", "publication_share")


def is_metric_name(name: str) -> bool:
    """Whether ``name`` can be a scalar column of ``runs.parquet`` taken from ``summary``: a
    metric, its ``_n`` denominator, or ``by_group.<grouping>.<level>.<metric>`` (groupings and
    levels depend on the origin, e.g. its sections, so only the metric part is checked)."""
    base = name[:-2] if name.endswith("_n") else name
    parts = base.split(".")
    if len(parts) == 4 and parts[0] == "by_group" and all(parts[1:3]):
        return parts[3] in GROUP_METRICS
    if len(parts) == 2 and parts[0] == LIFE_TABLE and not name.endswith("_n"):
        column, _, index = parts[1].partition("[")
        return column in LIFE_TABLE_COLUMNS and index[:-1].isdigit() and index.endswith("]")
    return len(parts) == 1 and base in SUMMARY_METRICS


def group_levels(origin) -> dict[str, tuple[str, ...]]:
    """The ``by_group`` groupings of a summary and their levels for an origin config (its
    sections only when it has a second section), as :func:`summary` writes them."""
    levels = {"elective": ("yes", "no"), "elective_destination": ("hic", "lmic"),
              "elective_place": ELECTIVE_PLACES, "elective_type": ELECTIVE_TYPES, "sex": ("female", "male")}
    if origin.second_section is not None:
        levels["section"] = (origin.main_section, origin.second_section.name)
    return levels


def unknown_metric(objective: str) -> str:
    """The error line for an ``objective`` that is no metric of the summary."""
    return (f"objective: {objective!r} is not a metric of summary.json; expected targets or one of "
            f"{', '.join(SUMMARY_METRICS)}, a denominator (<metric>_n), or a by_group entry such as "
            "by_group.sex.female.went_abroad_share")


def return_life_table(done: np.ndarray, first_return: np.ndarray, last_return: np.ndarray, exit_year: np.ndarray,
                      horizon: int) -> dict[str, list[int]]:
    """The life table of return home after finishing training abroad, in whole years.

    Inputs are per person who finished training abroad in the horizon (model years, ``NO_YEAR``
    where none): the year training finished, the first and last return years, the exit year.
    The event is the first return in or after the year training finished (the last return
    when the first one came before it); people still abroad are censored at their exit or at
    the end of the horizon. Returns ``{"returned": r, "censored": c}``, lists of length
    ``horizon``: ``r[d]`` people returned ``d`` years after finishing (0 = the same year),
    ``c[d]`` were last seen abroad ``d`` years after finishing. Those at risk at ``d`` are
    everyone minus the returns and censorings before ``d`` (censored at ``d`` count as at
    risk at ``d``, the usual Kaplan-Meier convention).
    """
    ret = np.where(first_return >= done, first_return, np.where(last_return >= done, last_return, NO_YEAR))
    returned = (ret != NO_YEAR) & (first_return != NO_YEAR)
    end = np.where(exit_year != NO_YEAR, np.minimum(exit_year, horizon), horizon)
    duration = np.where(returned, ret, end).astype(np.int64) - done
    duration = np.clip(duration, 0, horizon - 1)
    r = np.bincount(duration[returned], minlength=horizon)[:horizon]
    c = np.bincount(duration[~returned], minlength=horizon)[:horizon]
    return {"returned": [int(v) for v in r], "censored": [int(v) for v in c]}


def summary(model: CareerModel) -> dict:
    """The run's outcome metrics (docs/metrics.md), over the reported years only: rates count
    people who graduated, trained, applied or returned inside the horizon."""
    pop, horizon = model.pop, model.year
    n = pop.n
    flows = {name: model.flow_records[:, j] for j, name in enumerate(FLOWS)}
    grads = np.flatnonzero(pop.grad_year[:n] >= 1)
    enrolled = flows["students_enrolled"]
    taught = enrolled > 0  # years with students enrolled
    rate = flows["electives_started"][taught] / enrolled[taught]
    electives = flows["electives_started"].sum()
    first_round = pop.first_round_year[:n]
    applied = np.flatnonzero(first_round >= 1)
    matched_round = pop.matched_round[applied]
    followed4 = applied[first_round[applied] <= horizon - 3]
    # return within k years of finishing training, among those with k years of follow-up
    done = pop.training_done_year[:n]
    ret = pop.first_return_year[:n]

    def return_share(k: int) -> tuple[float | None, int]:
        elig = (done >= 1) & (done <= horizon - k)
        return _share(elig & (ret != NO_YEAR) & (ret - done <= k), elig)

    # Kaplan-Meier: start of training abroad -> first return; censored at exit or the horizon
    started = np.flatnonzero(pop.abroad_start[:n] >= 1)
    returned = ret[started] != NO_YEAR
    end = np.where(returned, ret[started],
                   np.where(pop.exit_year[started] != NO_YEAR, pop.exit_year[started], horizon))
    med, censored = km_median((end - pop.abroad_start[started]).astype(float), returned)
    stage = pop.stage[:n]
    returnees_now = (stage >= RETURNED[0]) & (stage <= RETURNED[-1])
    sector_now = {s: _share(stage == code, returnees_now) for s, code in zip(SECTORS, RETURNED)}
    returned_in = pop.return_year[:n] >= 1  # whose last return fell in the horizon
    academic_in = returned_in & (pop.sector[:n] == 2)
    in_model_grads = grads[stage[grads] != EXITED]
    abroad_now = np.isin(stage[in_model_grads], (TRAINING_ABROAD, PRACTISING_ABROAD))
    accepted = int(flows["electives_accepted"].sum())
    exited_in = np.flatnonzero(pop.exit_year[:n] >= 1)
    age_at_exit = model.age(exited_in, pop.exit_year[exited_in])
    retired = age_at_exit[pop.exit_cause[exited_in] == CAUSE["retired"]]
    returns_in = np.flatnonzero(returned_in)
    out = _expand({
        "graduates_total": int(len(grads)),
        # mean over years of the yearly rate; n counts student-years enrolled
        "elective_rate_annual": (float(rate.mean()) if taught.any() else None, int(enrolled.sum())),
        "elective_share_cohort": _share(pop.n_electives[grads] > 0, len(grads)),
        "elective_share_hic": _share(flows["electives_hic"].sum(), electives),
        "elective_share_destination": _share(flows["electives_destination"].sum(), electives),
        "elective_share_research": _share(flows["electives_research"].sum(), electives),
        "elective_oversubscription": (float(flows["elective_applications"].sum() / accepted) if accepted else None,
                                      accepted),
        "research_engagement_share": _share(pop.research[grads], len(grads)),
        "publication_share": _share(pop.publication[grads], len(grads)),
        "intention_share": _share(pop.intention_year[grads] != NO_YEAR, len(grads)),
        "applicant_share": _share(pop.pathway_year[grads] != NO_YEAR, len(grads)),
        "went_abroad_share": _share(pop.abroad_start[grads] != NO_YEAR, len(grads)),
        "match_rate": _share(flows["matches"].sum(), flows["applications"].sum()),
        "first_attempt_match_share": _share(matched_round == 1, len(applied)),
        "eventual_match_share": _share((pop.matched_round[followed4] != NONE) & (pop.matched_round[followed4] <= 4),
                                       len(followed4)),
        "return_share_5y": return_share(5),
        "return_share_10y": return_share(10),
        "median_years_abroad": (med, len(started)),
        "median_years_abroad_censored": censored,
        "returnee_share_public": sector_now["public"],
        "returnee_share_private": sector_now["private"],
        "returnee_share_academic": sector_now["academic"],
        "knowledge_transfer_index": _share(pop.kt[:n] & returned_in, returned_in),
        "knowledge_transfer_index_academic": _share(pop.kt[:n] & academic_in, academic_in),
        "home_training_quality_start": float(model.quality_start),
        "home_training_quality_end": float(model.quality),
        "abroad_share_end": _share(abroad_now, len(in_model_grads)),
        # extras beyond the contract
        "entrants_total": int(flows["entrants"].sum()),
        "initial_population": int(model.initial_size),
        "departures_total": int(flows["departures"].sum()),
        "returns_total": int(flows["returns"].sum()),
        "forced_returns_total": int(flows["forced_returns"].sum()),
        "reemigrations_total": int(flows["reemigrations"].sum()),
        "returns_near_retirement_total": int((model.age(returns_in, pop.return_year[returns_in])
                                              >= RETURN_NEAR_RETIREMENT_AGE).sum()),
        "retirements_total": int(len(retired)),
        "deaths_total": int((pop.exit_cause[exited_in] == CAUSE["death"]).sum()),
        "median_retirement_age": (float(np.median(retired)) if len(retired) else None, int(len(retired))),
        # the career pathway of the horizon's graduates (the funnel of sim.plots.plot_pathway)
        "matched_share": _share(pop.matched_round[grads] != NONE, len(grads)),
        **_pathway_outcomes(stage[grads[pop.abroad_start[grads] != NO_YEAR]]),
    })
    finished = np.flatnonzero(done >= 1)
    out[LIFE_TABLE] = return_life_table(done[finished], ret[finished], pop.return_year[finished],
                                        pop.exit_year[finished], horizon)
    place = pop.elective_place[grads]
    et = pop.elective_type[grads]
    female = pop.female[grads]
    flags = _graduate_flags(model, grads)

    def group(mask):
        return _group_metrics(flags, mask)

    out["by_group"] = {
        "elective": {"yes": group(place != NONE), "no": group(place == NONE)},
        "elective_destination": {"hic": group((place == 0) | (place == 1)), "lmic": group(place == 2)},
        "elective_place": {name: group(place == code) for code, name in enumerate(ELECTIVE_PLACES)},
        "elective_type": {name: group(et == code) for code, name in enumerate(ELECTIVE_TYPES)},
        "sex": {"female": group(female), "male": group(~female)},
    }
    o = model.cfg.origin
    if o.second_section is not None:
        sec = pop.section[grads]
        out["by_group"]["section"] = {o.main_section: group(sec == 0), o.second_section.name: group(sec == 1)}
    return out

