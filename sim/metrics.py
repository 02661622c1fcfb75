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

from . import kernels
from .events import CAUSE, CAUSES
from .model import ENV, FLOWS, CareerModel
from .population import (ELECTIVE_PLACES, ELECTIVE_TYPES, EXITED, NO_YEAR, NONE, PRACTISING_ABROAD,
                         RETURNED, RETURNED_ACADEMIC, RETURNED_PRIVATE, RETURNED_PUBLIC, SECTORS, STAGES,
                         TRAINING_ABROAD)

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
# the rows of :func:`_group_table`: (grouping, level) for the levels that every origin has
_GROUP_ROWS = (("elective", "yes"), ("elective", "no"), ("elective_destination", "hic"),
               ("elective_destination", "lmic"), *(("elective_place", p) for p in ELECTIVE_PLACES),
               *(("elective_type", t) for t in ELECTIVE_TYPES), ("sex", "female"), ("sex", "male"))
_SECTION_ROW = len(_GROUP_ROWS)  # then the origin's two sections, main first
# what :func:`_group_table` counts per graduate: the subgroup flags, then the 10-year return share's
_GROUP_EVENTS = (*_GROUP_FLAGS, "eligible10", "back10")
_N_EVENTS = len(_GROUP_EVENTS)


@kernels.compiled
def _group_table(grads, horizon, n_electives, intention_year, abroad_start, pathway_year, research, publication,
                 done, first_return, elective_place, elective_type, female, section):
    """Per subgroup of the graduates ``grads``, how many are members and how many have each
    event the subgroup metrics count: an int64 array (rows: :data:`_GROUP_ROWS`, then sections
    0 and 1; columns: members, the :data:`_GROUP_FLAGS` in order, eligible for the 10-year
    return share, back within 10 years)."""
    # count each row's graduates by their pattern of the events (bits of _GROUP_EVENTS), then sum the bits
    patterns = np.zeros((_SECTION_ROW + 2, 1 << _N_EVENTS), np.int64)
    rows = np.empty(6, np.int64)  # the graduate's row in each of the six groupings (-1: none)
    for i in grads:
        d = np.int64(done[i])
        r = np.int64(first_return[i])
        eligible10 = d >= 1 and d <= horizon - 10
        bits = ((n_electives[i] > 0) | (intention_year[i] != NO_YEAR) << 1 | (abroad_start[i] != NO_YEAR) << 2
                | (pathway_year[i] != NO_YEAR) << 3 | research[i] << 4 | publication[i] << 5 | eligible10 << 6
                | (eligible10 and r != NO_YEAR and r - d <= 10) << 7)
        place = np.int64(elective_place[i])
        kind = np.int64(elective_type[i])
        rows[0] = 0 if place != NONE else 1
        rows[1] = 2 if (place == 0 or place == 1) else (3 if place == 2 else -1)
        rows[2] = 4 + place if place != NONE else -1
        rows[3] = 7 + kind if kind != NONE else -1
        rows[4] = 9 if female[i] else 10
        rows[5] = _SECTION_ROW + section[i] if 0 <= section[i] <= 1 else -1
        for k in range(6):
            if rows[k] >= 0:
                patterns[rows[k], bits] += 1
    table = np.zeros((_SECTION_ROW + 2, 1 + _N_EVENTS), np.int64)
    for row in range(_SECTION_ROW + 2):
        for bits in range(1 << _N_EVENTS):
            m = patterns[row, bits]
            if m:
                table[row, 0] += m
                for j in range(_N_EVENTS):
                    if bits >> j & 1:
                        table[row, 1 + j] += m
    return table


def _group_metrics(counts: np.ndarray) -> dict:
    """The subgroup metrics from one row of :func:`_group_table`."""
    n = int(counts[0])
    out: dict = {"graduates_total": n}
    for j, name in enumerate(_GROUP_FLAGS):
        out[name] = _share(int(counts[1 + j]), n)
    column = {name: 1 + j for j, name in enumerate(_GROUP_EVENTS)}
    out["return_share_10y"] = _share(int(counts[column["back10"]]), int(counts[column["eligible10"]]))
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


# what :func:`_scan` counts over the whole population, by position in its ``counts``
_COUNTS = ("eligible5", "back5", "eligible10", "back10", "returnees_now", "public_now", "private_now",
           "academic_now", "returned_in", "kt_returned_in", "academic_in", "kt_academic_in", "deaths", "retired",
           "returns_near_retirement", "graduates_in_model", "graduates_abroad_now")
_N_COUNTS = len(_COUNTS)


@kernels.compiled
def _scan(n, horizon, entry_age, near_age, first_cohort, retired_cause, death_cause, grad_year, first_round_year,
          done, first_return, abroad_start, return_year, sector, kt, stage, exit_year, exit_cause, cohort):
    """One pass over people ``0..n-1`` for what :func:`summary` needs of everyone.

    Returns the ids (ascending, int64) of the horizon's graduates, first-round applicants,
    starters of training abroad and finishers of training (year >= 1 each); ``counts``
    (int64, by :data:`_COUNTS`); and ``retired_span``, the number of people who retired in
    the horizon by whole years between entry and retirement (0 .. ``horizon - first_cohort``;
    ``first_cohort``: the earliest cohort of people ``0..n-1``),
    from which their median age is exact. Ages are ``entry_age + year - cohort``, as
    :meth:`sim.model.CareerModel.age` computes them.
    """
    grads = np.empty(n, np.int64)
    applied = np.empty(n, np.int64)
    started = np.empty(n, np.int64)
    finished = np.empty(n, np.int64)
    ng = na = ns = nf = 0
    counts = np.zeros(_N_COUNTS, np.int64)
    retired_span = np.zeros(horizon - first_cohort + 1, np.int64)
    for i in range(n):
        s = stage[i]
        if RETURNED_PUBLIC <= s <= RETURNED_ACADEMIC:
            counts[4] += 1
            counts[5 + s - RETURNED_PUBLIC] += 1
        if grad_year[i] >= 1:
            grads[ng] = i
            ng += 1
            if s != EXITED:
                counts[15] += 1
                if s == TRAINING_ABROAD or s == PRACTISING_ABROAD:
                    counts[16] += 1
        if first_round_year[i] >= 1:
            applied[na] = i
            na += 1
        if abroad_start[i] >= 1:
            started[ns] = i
            ns += 1
        d = np.int64(done[i])
        if d >= 1:
            finished[nf] = i
            nf += 1
            r = np.int64(first_return[i])
            back = r != NO_YEAR
            if d <= horizon - 5:
                counts[0] += 1
                if back and r - d <= 5:
                    counts[1] += 1
            if d <= horizon - 10:
                counts[2] += 1
                if back and r - d <= 10:
                    counts[3] += 1
        ry = np.int64(return_year[i])
        if ry >= 1:
            counts[8] += 1
            if kt[i]:
                counts[9] += 1
            if sector[i] == 2:
                counts[10] += 1
                if kt[i]:
                    counts[11] += 1
            if entry_age + np.float64(ry - np.int64(cohort[i])) >= near_age:
                counts[14] += 1
        ey = np.int64(exit_year[i])
        if ey >= 1:
            if exit_cause[i] == death_cause:
                counts[12] += 1
            elif exit_cause[i] == retired_cause:
                counts[13] += 1
                retired_span[ey - np.int64(cohort[i])] += 1
    return grads[:ng], applied[:na], started[:ns], finished[:nf], counts, retired_span


def _median_age(entry_age: float, span_counts: np.ndarray) -> float | None:
    """``numpy.median`` of the ages ``entry_age + span`` counted by ``span_counts`` (None if none)."""
    m = int(span_counts.sum())
    if m == 0:
        return None
    cumulative = np.cumsum(span_counts)
    lo, hi = (np.searchsorted(cumulative, k, side="right") for k in ((m - 1) // 2, m // 2))
    return float(((entry_age + float(lo)) + (entry_age + float(hi))) / 2)


def summary(model: CareerModel) -> dict:
    """The run's outcome metrics (docs/metrics.md), over the reported years only: rates count
    people who graduated, trained, applied or returned inside the horizon."""
    pop, horizon = model.pop, model.year
    n = pop.n
    flows = {name: model.flow_records[:, j] for j, name in enumerate(FLOWS)}
    entry_age = model.cfg.origin.entry_age
    first_cohort = int(pop.cohort[:n].min(initial=1))
    grads, applied, started, finished, counts, retired_span = _scan(
        n, horizon, entry_age, float(RETURN_NEAR_RETIREMENT_AGE), first_cohort, CAUSE["retired"], CAUSE["death"],
        pop.grad_year, pop.first_round_year, pop.training_done_year, pop.first_return_year, pop.abroad_start,
        pop.return_year, pop.sector, pop.kt, pop.stage, pop.exit_year, pop.exit_cause, pop.cohort)
    c = dict(zip(_COUNTS, counts.tolist()))
    enrolled = flows["students_enrolled"]
    taught = enrolled > 0  # years with students enrolled
    rate = flows["electives_started"][taught] / enrolled[taught]
    electives = flows["electives_started"].sum()
    matched_round = pop.matched_round[applied]
    followed4 = applied[pop.first_round_year[applied] <= horizon - 3]
    # Kaplan-Meier: start of training abroad -> first return; censored at exit or the horizon
    ret = pop.first_return_year[started]
    returned = ret != NO_YEAR
    exit_started = pop.exit_year[started]
    end = np.where(returned, ret, np.where(exit_started != NO_YEAR, exit_started, horizon))
    med, censored = km_median((end - pop.abroad_start[started]).astype(float), returned)
    accepted = int(flows["electives_accepted"].sum())
    retired = int(c["retired"])
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
        # return within k years of finishing training, among those with k years of follow-up
        "return_share_5y": _share(c["back5"], c["eligible5"]),
        "return_share_10y": _share(c["back10"], c["eligible10"]),
        "median_years_abroad": (med, len(started)),
        "median_years_abroad_censored": censored,
        "returnee_share_public": _share(c["public_now"], c["returnees_now"]),
        "returnee_share_private": _share(c["private_now"], c["returnees_now"]),
        "returnee_share_academic": _share(c["academic_now"], c["returnees_now"]),
        # among those whose last return fell in the horizon
        "knowledge_transfer_index": _share(c["kt_returned_in"], c["returned_in"]),
        "knowledge_transfer_index_academic": _share(c["kt_academic_in"], c["academic_in"]),
        "home_training_quality_start": float(model.quality_start),
        "home_training_quality_end": float(model.quality),
        "abroad_share_end": _share(c["graduates_abroad_now"], c["graduates_in_model"]),
        # extras beyond the contract
        "entrants_total": int(flows["entrants"].sum()),
        "initial_population": int(model.initial_size),
        "departures_total": int(flows["departures"].sum()),
        "returns_total": int(flows["returns"].sum()),
        "forced_returns_total": int(flows["forced_returns"].sum()),
        "reemigrations_total": int(flows["reemigrations"].sum()),
        "returns_near_retirement_total": int(c["returns_near_retirement"]),
        "retirements_total": retired,
        "deaths_total": int(c["deaths"]),
        "median_retirement_age": (_median_age(entry_age, retired_span), retired),
        # the career pathway of the horizon's graduates (the funnel of sim.plots.plot_pathway)
        "matched_share": _share(pop.matched_round[grads] != NONE, len(grads)),
        **_pathway_outcomes(pop.stage[grads[pop.abroad_start[grads] != NO_YEAR]]),
    })
    out[LIFE_TABLE] = return_life_table(pop.training_done_year[finished], pop.first_return_year[finished],
                                        pop.return_year[finished], pop.exit_year[finished], horizon)
    table = _group_table(grads, horizon, pop.n_electives, pop.intention_year, pop.abroad_start, pop.pathway_year,
                         pop.research, pop.publication, pop.training_done_year, pop.first_return_year,
                         pop.elective_place, pop.elective_type, pop.female, pop.section)
    by_group: dict = {}
    for (grouping, level), row in zip(_GROUP_ROWS, table):
        by_group.setdefault(grouping, {})[level] = _group_metrics(row)
    o = model.cfg.origin
    if o.second_section is not None:
        by_group["section"] = {o.main_section: _group_metrics(table[_SECTION_ROW]),
                               o.second_section.name: _group_metrics(table[_SECTION_ROW + 1])}
    out["by_group"] = by_group
    return out

