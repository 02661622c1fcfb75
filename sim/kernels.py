"""Compiled loops that apply the rules of :mod:`sim.decisions` to everyone who faces them.

Each kernel makes one pass over the people concerned (a contiguous range of ids, or a list
of ids): it checks who is eligible, evaluates the rule, draws the person's uniform and
records the outcome, without the intermediate arrays that the same step written as a
chain of numpy operations would create. Kernels know the population arrays they are given
and nothing else: the model decides who is asked and what happens next.

Uniforms are counter-based (see :mod:`sim.streams`): ``uniform_at(key, id)`` depends only
on the stream-year-draw key and the person's id, so a kernel may draw only for the people
who need a draw, in any order, and get the same numbers as a whole-array draw.

Compiled code is cached on disk (``cache=True``): the first run on a machine compiles
(a few seconds); later runs load it. numba keys a cached function on its own source file
only, so the kernels' entries are also keyed on the text of the files whose code they
compile in (:func:`_key_cache_on_dependencies`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import numbers
from pathlib import Path

import numpy as np
from numba import njit

from . import decisions as d
from . import population
from .population import HOME_PRACTICE, HOME_TRAINING, NONE, STUDENT

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / (1 << 53)


# --- coefficients --------------------------------------------------------------------------

def coefficients(params) -> np.ndarray:
    """The numbers of a parameter dataclass as a one-element structured array of floats:
    compiled code reads ``coef[0].name`` like the dataclass's attribute (and a structured
    array is quicker to hand to compiled code than a tuple). Lists, nested groups and text
    are left out. Each probability ``x`` also comes as ``logit_x``, so that rules do not take
    the same logarithm once per person."""
    names, values = [], []
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if isinstance(v, numbers.Real):
            names.append(f.name)
            values.append(float(v))
            if f.metadata.get("lo") == 0.0 and f.metadata.get("hi") == 1.0:
                names.append(f"logit_{f.name}")
                values.append(d.logit(float(v)))
    return np.array([tuple(values)], dtype=[(name, np.float64) for name in names])


# --- random numbers --------------------------------------------------------------------------

@njit(cache=True)
def uniform_at(key, i):
    """SplitMix64 (Steele, Lea & Flood 2014) of the id offset by the stream key, as U[0, 1)."""
    z = np.uint64(i) * _GOLDEN + key
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return np.float64(z >> _S11) * _TO_UNIT


@njit(cache=True)
def uniforms(ids, key):
    out = np.empty(ids.shape[0], np.float64)
    for j in range(ids.shape[0]):
        out[j] = uniform_at(key, ids[j])
    return out


# --- selection -------------------------------------------------------------------------------

@njit(cache=True)
def in_stage(ids, stage, s):
    """The ids whose stage is ``s``, in order."""
    out = np.empty(ids.shape[0], np.int64)
    n = 0
    for j in range(ids.shape[0]):
        if stage[ids[j]] == s:
            out[n] = ids[j]
            n += 1
    return out[:n]


@njit(cache=True)
def training_done(lo, hi, stage, home_training_end, year):
    """Ids in ``lo..hi-1`` in home training whose training ends by ``year``."""
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    for i in range(lo, hi):
        if stage[i] == HOME_TRAINING and home_training_end[i] <= year:
            out[n] = i
            n += 1
    return out[:n]


@njit(cache=True)
def move(ids, to_stages, stage, stage_since, year, stocks):
    """Move each of ``ids`` to its stage in ``to_stages`` in ``year``, keeping the stock by
    stage; returns the stages they left."""
    left = np.empty(ids.shape[0], np.int8)
    for j in range(ids.shape[0]):
        i = ids[j]
        s = stage[i]
        left[j] = s
        stocks[s] -= 1
        stocks[to_stages[j]] += 1
        stage[i] = to_stages[j]
        stage_since[i] = year
    return left


# --- 1. research engagement -----------------------------------------------------------------

@njit(cache=True)
def research_engagement(lo, hi, year, stage, cohort, research, research_year, motivation, time_barrier,
                        pay_barrier, orientation, section, hazard_by_study_year, mentor_found_by_section,
                        key_seek, key_found, coef, reference):
    """Students in ids ``lo..hi-1`` not yet engaged seek a project and may find a mentor.
    The study year of a student in ``year`` is ``year - cohort + 1``. Returns how many started."""
    p, ref = coef[0], reference[0]
    started = 0
    top = hazard_by_study_year.shape[0]
    seek = np.empty(top)
    for sy in range(top):
        seek[sy] = d.seek_logit(hazard_by_study_year[sy], ref)
    for i in range(lo, hi):
        if stage[i] != STUDENT or research[i]:
            continue
        sy = year - cohort[i] + 1
        if sy < 0 or sy >= top or hazard_by_study_year[sy] <= 0.0:
            continue
        x = d.research_interest_logit(p, ref, seek[sy], motivation[i], time_barrier[i], pay_barrier[i],
                                      orientation[i] == 1)
        if d.happens(uniform_at(key_seek, i), x) and uniform_at(key_found, i) < mentor_found_by_section[section[i]]:
            research[i] = True
            research_year[i] = year
            started += 1
    return started


# --- 2-3. electives ----------------------------------------------------------------------------

@njit(cache=True)
def elective_applicants(lo, hi, year, stage, cohort, n_electives, max_per_student, elective_study_year,
                        motivation, english, standing, resources, family_home, peer_counts, inv_ties, key, coef, reference):
    """Students in an elective study year with electives left to take who apply this year."""
    p, ref = coef[0], reference[0]
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    top = elective_study_year.shape[0]
    for i in range(lo, hi):
        if stage[i] != STUDENT or n_electives[i] >= max_per_student:
            continue
        sy = year - cohort[i] + 1
        if sy < 0 or sy >= top or not elective_study_year[sy]:
            continue
        x = d.elective_apply_logit(p, ref, motivation[i], english[i], standing[i], resources[i], family_home[i],
                                   peer_counts[i] * inv_ties)
        if d.happens(uniform_at(key, i), x):
            out[n] = i
            n += 1
    return out[:n]


@njit(cache=True)
def elective_offers(app, english, standing, research, noise, threshold_hic, threshold_lmic, key_hic, key_type,
                    coef, reference):
    """Each applicant's wished host (high-income or not) and elective type (research or
    clinical), whether they meet that host's English threshold, and their priority with
    hosts: grades plus English plus noise (``noise``: one standard normal per applicant)."""
    p, ref = coef[0], reference[0]
    m = app.shape[0]
    hic = np.empty(m, np.bool_)
    research_type = np.empty(m, np.bool_)
    eligible = np.empty(m, np.bool_)
    priority = np.empty(m, np.float64)
    for j in range(m):
        i = app[j]
        hic[j] = d.happens(uniform_at(key_hic, i), d.elective_prefers_hic_logit(p, ref, english[i]))
        research_type[j] = d.happens(uniform_at(key_type, i), d.elective_research_logit(p, research[i]))
        eligible[j] = english[i] >= (threshold_hic if hic[j] else threshold_lmic)
        priority[j] = standing[i] + english[i] + p.host_priority_noise_sd * noise[j]
    return hic, research_type, eligible, priority


@njit(cache=True)
def elective_uptake(ids, hic, award, resources, family_funds, scholarship, cost_hic, cost_lmic, key, coef):
    """Whether each accepted student can pay: family funds (``resources`` times ``family_funds``)
    plus any scholarship, against the cost of the host they chose (USD)."""
    p = coef[0]
    takes = np.empty(ids.shape[0], np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        funds = resources[i] * family_funds + (scholarship if award[j] else 0.0)
        cost = cost_hic if hic[j] else cost_lmic
        takes[j] = d.happens(uniform_at(key, i), d.afford_logit(p, funds, cost))
    return takes


@njit(cache=True)
def electives_taken(who, hic, research_type, n_electives, elective_type, elective_dest, hic_elective, role_model,
                    transformed, research_tilt, intl_health, key_role, key_trans, key_tilt, key_intl, coef):
    """Record the electives taken and what each did (SON2021 Box 2): role model met,
    perspective transformed, and the research (research electives) and international-health
    (low/middle-income hosts) tilts. A first elective sets the person's elective type and
    destination. Returns who took their first elective."""
    p = coef[0]
    first = np.empty(who.shape[0], np.int64)
    n_first = 0
    for j in range(who.shape[0]):
        i = who[j]
        if n_electives[i] == 0:
            elective_type[i] = 1 if research_type[j] else 0
            elective_dest[i] = 0 if hic[j] else 1
            first[n_first] = i
            n_first += 1
        n_electives[i] += 1
        if hic[j]:
            hic_elective[i] = True
        if uniform_at(key_role, i) < p.role_model:
            role_model[i] = True
        if uniform_at(key_trans, i) < p.perspective_transformed:
            transformed[i] = True
        if research_type[j] and uniform_at(key_tilt, i) < p.research_tilt_given_research:
            research_tilt[i] = True
        if not hic[j] and uniform_at(key_intl, i) < p.intl_health_given_lmic:
            intl_health[i] = True
    return first[:n_first]


# --- graduation --------------------------------------------------------------------------------

@njit(cache=True)
def graduation(lo, hi, year, school_years, home_training_years, stage, student_year, research, publication,
               grad_year, home_training_end, pathway_logit, hic_elective, role_model, transformed, english,
               motivation, family_home, resources, research_tilt, intl_health, publication_given_research,
               income_gap, key_pub, coef, reference):
    """Final-year students graduate (publication, the fixed part of the pathway decision);
    the others move up a study year. Returns the graduates."""
    p, ref = coef[0], reference[0]
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    for i in range(lo, hi):
        if stage[i] != STUDENT:
            continue
        if student_year[i] < school_years:
            student_year[i] += 1
            continue
        publication[i] = research[i] and uniform_at(key_pub, i) < publication_given_research
        grad_year[i] = year
        home_training_end[i] = year + home_training_years
        pathway_logit[i] = d.pathway_fixed_logit(p, ref, income_gap, hic_elective[i], role_model[i], transformed[i],
                                                 english[i], motivation[i], family_home[i], resources[i],
                                                 research[i], research_tilt[i], intl_health[i])
        out[n] = i
        n += 1
    return out[:n]


# --- 4. the pathway abroad ---------------------------------------------------------------------

@njit(cache=True)
def pathway_starters(lo, hi, stage, pathway_year, pathway_logit, satisfaction_offset, quality, peer_counts,
                     inv_ties, emigration_culture, key, coef, reference):
    """Doctors at home (in training or practice) who have not started yet and start this year.
    Dissatisfaction is one minus training quality as the person perceives it, within [0, 1]."""
    p, ref = coef[0], reference[0]
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    for i in range(lo, hi):
        s = stage[i]
        if (s != HOME_TRAINING and s != HOME_PRACTICE) or pathway_year[i] != NONE:
            continue
        satisfaction = min(max(quality + satisfaction_offset[i], 0.0), 1.0)
        x = d.pathway_start_logit(p, ref, emigration_culture, pathway_logit[i], 1.0 - satisfaction,
                                  peer_counts[i] * inv_ties)
        if d.happens(uniform_at(key, i), x):
            out[n] = i
            n += 1
    return out[:n]


@njit(cache=True)
def exam_results(ids, standing, english, pass_prob, key, coef, reference):
    p, ref = coef[0], reference[0]
    passed = np.empty(ids.shape[0], np.bool_)
    logit_base = d.logit(pass_prob)
    for j in range(ids.shape[0]):
        i = ids[j]
        passed[j] = d.happens(uniform_at(key, i), d.exam_pass_logit(p, ref, logit_base, standing[i], english[i]))
    return passed


@njit(cache=True)
def exam_give_ups(ids, resources, exam_cost, key, coef):
    p = coef[0]
    quits = np.empty(ids.shape[0], np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        quits[j] = uniform_at(key, i) < d.exam_give_up_prob(p, exam_cost, resources[i])
    return quits


@njit(cache=True)
def match_scores(ids, exam_score, hic_elective, research, role_model, noise, coef):
    p = coef[0]
    out = np.empty(ids.shape[0], np.float64)
    for j in range(ids.shape[0]):
        i = ids[j]
        out[j] = d.match_score(p, exam_score[i], hic_elective[i], research[i], role_model[i], noise[j])
    return out


@njit(cache=True)
def departures(ids, year, training_years, training_years_probs, j1_share, role_model, abroad_start, training_end,
               visa, wish_improve, key_duration, key_visa, key_wish, coef):
    """People leaving to train abroad: the programme's length (drawn from the destination's
    distribution), the visa (J-1 or H-1B) and whether they wish to improve training at home."""
    p = coef[0]
    total = training_years_probs.sum()
    for j in range(ids.shape[0]):
        i = ids[j]
        u = uniform_at(key_duration, i) * total
        c = 0
        cum = training_years_probs[0]
        while c < training_years.shape[0] - 1 and u >= cum:
            c += 1
            cum += training_years_probs[c]
        abroad_start[i] = year
        training_end[i] = year + training_years[c]
        visa[i] = 1 if uniform_at(key_visa, i) < j1_share else 2
        wish_p = p.wish_improve_given_role_model if role_model[i] else p.wish_improve_base
        wish_improve[i] = uniform_at(key_wish, i) < wish_p


# --- 5-6. return and sector ----------------------------------------------------------------------

@njit(cache=True)
def return_choices(ids, year, family_home, abroad_start, wish_improve, training_done_year, income_gap_eff,
                   reintegration_eff, at_training_end, key, coef, reference):
    p, ref = coef[0], reference[0]
    back = np.empty(ids.shape[0], np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        x = d.return_logit(p, ref, family_home[i], year - abroad_start[i], wish_improve[i],
                           year - training_done_year[i], income_gap_eff, reintegration_eff, at_training_end)
        back[j] = d.happens(uniform_at(key, i), x)
    return back


@njit(cache=True)
def sectors_on_return(ids, research, wish_improve, research_tilt, orientation, public_system_satisfaction,
                      knowledge_absorption, reintegration_support, key_sector, key_kt, coef):
    """Each returnee's sector (0 public, 1 private, 2 academic) and whether they transfer knowledge."""
    p = coef[0]
    m = ids.shape[0]
    sector = np.empty(m, np.int8)
    kt = np.empty(m, np.bool_)
    for j in range(m):
        i = ids[j]
        s = d.sector_choice(p, public_system_satisfaction, research[i], wish_improve[i], research_tilt[i],
                            orientation[i] == 2, uniform_at(key_sector, i))
        sector[j] = s
        kt[j] = uniform_at(key_kt, i) < d.knowledge_transfer_prob(p, knowledge_absorption, s, reintegration_support)
    return sector, kt


# --- the on-disk cache ---------------------------------------------------------------------------

def _cache_files() -> list:
    """The on-disk cache entries of this module's compiled functions (numba's ``IndexDataCacheFile``)."""
    files = (getattr(getattr(obj, "_cache", None), "_cache_file", None) for obj in list(globals().values()))
    return [f for f in files if f is not None]


def _key_cache_on_dependencies() -> None:
    """Make a change to :mod:`sim.decisions` or :mod:`sim.population` invalidate the kernels' cache.

    numba checks a cached function against the modification time and size of the file that
    defines it, and does not notice changes to functions or constants from other files
    (a documented limitation of its cache). The kernels here compile in the rules of
    :mod:`sim.decisions` and the stage codes of :mod:`sim.population`, so a kernel cached
    before those changed would run the old rule. Adding a hash of those files to each
    kernel's cache stamp makes such an entry stale, and numba compiles afresh.
    """
    digest = hashlib.sha256()
    for module in (d, population):
        digest.update(Path(module.__file__).read_bytes())
    deps = digest.hexdigest()
    for cache_file in _cache_files():
        if hasattr(cache_file, "_source_stamp"):
            cache_file._source_stamp = (cache_file._source_stamp, deps)


_key_cache_on_dependencies()


def compiled_code_cached() -> bool:
    """Whether the kernels' compiled code is already in the on-disk cache (False: the next
    run compiles it, which takes several seconds). True when the cache cannot be inspected."""
    indexes = (getattr(cache_file, "_index_path", None) for cache_file in _cache_files())
    return all(Path(index).exists() for index in indexes if index is not None)
