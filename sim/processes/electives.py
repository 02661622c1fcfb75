"""International electives: who applies, host slots, scholarships, uptake, and what an
elective does (SON2021, ELECTIVES)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from .. import network
from ..population import STUDENT
from ..schema import MAX_USD, _f, nonneg, prob, real
from . import Process


@dataclass
class ElectiveParams:
    """Applying for an international elective (SON2021, ELECTIVES)."""

    apply_base: float = prob()
    b_motivation: float = real()
    b_english: float = real()
    b_standing: float = real()
    b_resources: float = real()
    b_home_ties: float = real()
    b_peers: float = real()
    prefer_hic: float = prob()
    b_hic_english: float = real()
    research_type_base: float = prob()
    b_research_type_engaged: float = real()
    afford_scale_usd: float = _f(1.0, MAX_USD)  # at least one dollar
    host_priority_noise_sd: float = nonneg(100.0)


@dataclass
class ElectiveEffectParams:
    """What an elective does (SON2021 Box 2)."""

    role_model: float = prob()
    perspective_transformed: float = prob()
    research_tilt_given_research: float = prob()
    intl_health_given_lmic: float = prob()


class Electives(Process):
    """Students in the elective years apply; hosts accept by priority within slots; the top
    grades get scholarships; those who can pay go, and the elective may change them.

    A high-income elective is in the destination country itself for a share
    ``origin.electives.destination_share`` of them: that is the exposure to the
    destination's clinical education that HEIST2018 finds pivotal, and the destination
    clinical experience the match rewards."""

    name = "electives"
    STREAMS = {"key": "elective", "key_effects": "elective_effects"}

    def __init__(self, model) -> None:
        cfg = model.cfg
        self.coef = kernels.coefficients(cfg.params.elective)
        self.effects = kernels.coefficients(cfg.params.elective_effects)
        self.study_year = np.zeros(cfg.origin.school_years + 1, dtype=bool)
        self.study_year[np.asarray(cfg.origin.elective_years, dtype=int)] = True
        self.use_streams(model.streams)
        self.traits = np.empty(0, np.float32)

    def on_draw(self, model, lo: int, hi: int) -> None:
        """Everyone's application rule without the peer term (an approximation used only to skip
        those who surely do not apply; see :func:`applicants`)."""
        pop = model.pop
        self.traits = kernels.grown(self.traits, hi)  # those drawn before (a base population) kept
        trait_terms(lo, hi, pop.motivation, pop.english, pop.standing, pop.resources, pop.home_ties, self.traits,
                    self.coef, model.ref)

    def slots(self, model) -> tuple[int, int]:
        hosts, pol, scale = model.cfg.origin.electives, model.policy, model.cfg.scale
        return (int(round(hosts.hic_slots * scale * pol.elective_slots_multiplier)),
                int(round(hosts.lmic_slots * scale * pol.elective_slots_multiplier)))

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        o, hosts, pol = cfg.origin, cfg.origin.electives, model.policy
        p, ref, flow = self.coef, model.ref, model.flow
        flow["students_enrolled"] += int(model.stocks[STUDENT])
        net = model.network  # the share of peers and alumni who took an elective
        app = applicants(year, model.first_cohort, model.intake, pop.n, pop.stage, pop.n_electives,
                         hosts.max_per_student, self.study_year, pop.motivation, pop.english, pop.standing,
                         pop.resources, pop.home_ties, self.traits, net.bits("elective"), net.key, net.spec, self.key,
                         p, ref)
        flow["elective_applications"] += len(app)
        if len(app) == 0:
            return
        wants_hic, research_type, eligible, priority, in_destination = offers(
            app, year, pop.english, pop.standing, pop.research, hosts.english_threshold_hic,
            hosts.english_threshold_lmic, hosts.destination_share, self.key, p, ref)
        accepted = np.zeros(len(app), dtype=bool)
        for pool, n_slots in zip(pools(eligible, wants_hic), self.slots(model)):
            accepted[pool[allocate_slots(priority[pool], n_slots)]] = True
        acc = np.flatnonzero(accepted)
        flow["electives_accepted"] += len(acc)
        n_awards = int(pol.scholarship_budget_usd * pol.scholarship_budget_multiplier * cfg.scale
                       // pol.scholarship_amount_usd)
        award = award_scholarships(pop.standing[app[acc]], n_awards)
        takes = uptake(app[acc], wants_hic[acc], award, pop.resources, o.family_funds_usd,
                       pol.scholarship_amount_usd, hosts.cost_hic_usd, hosts.cost_lmic_usd,
                       year, self.key, p)
        who, counts = taken(app, acc, takes, award, wants_hic, research_type, in_destination, pop.n_electives,
                            pop.elective_type, pop.elective_place, pop.hic_elective, pop.destination_elective,
                            pop.role_model, pop.transformed, pop.research_tilt, pop.intl_health,
                            model.network.bits("elective"), year, self.key_effects, self.effects)
        flow["electives_started"] += len(who)
        for name, count in zip(("scholarships", "electives_hic", "electives_destination", "electives_research"),
                               counts):
            flow[name] += int(count)


# --- rules -----------------------------------------------------------------------------------

@kernels.compiled
def apply_logit(p, ref, motivation, english, standing, resources, home_ties, peer_share):
    """Yearly log-odds that a student in an elective year applies: motivation, English,
    grades and money push; ties at home hold back; peers and alumni who went before push."""
    x = (p.logit_apply_base
         + p.b_motivation * (motivation - ref.motivation)
         + p.b_english * (english - ref.english)
         + p.b_standing * (standing - 0.5)
         + p.b_resources * (resources - ref.resources)
         + p.b_home_ties * (home_ties - ref.home_ties)
         + p.b_peers * peer_share)
    return x


@kernels.compiled
def prefers_hic_logit(p, ref, english):
    return p.logit_prefer_hic + p.b_hic_english * (english - ref.english)


@kernels.compiled
def research_logit(p, research_engaged):
    return p.logit_research_type_base + p.b_research_type_engaged * research_engaged


@kernels.compiled
def afford_logit(p, funds, cost):
    """Whether an accepted student can pay: smooth in funds minus cost."""
    return (funds - cost) / p.afford_scale_usd


def allocate_slots(priority: np.ndarray, slots: int) -> np.ndarray:
    """Accept the ``slots`` applicants with the highest host priority (all if fewer)."""
    accepted = np.zeros(len(priority), dtype=bool)
    if slots <= 0 or len(priority) == 0:
        return accepted
    if len(priority) <= slots:
        accepted[:] = True
        return accepted
    accepted[np.argpartition(-priority, slots - 1)[:slots]] = True
    return accepted


def award_scholarships(standing: np.ndarray, n_awards: int) -> np.ndarray:
    """Scholarships go to the top grades among accepted students (SON2021)."""
    return allocate_slots(standing, n_awards)


# --- compiled loops ----------------------------------------------------------------------------

@kernels.compiled
def trait_terms(lo, hi, motivation, english, standing, resources, home_ties, out, coef, reference):
    """:func:`apply_logit` without peers, for ids ``lo..hi-1``, in single precision."""
    p, ref = coef[0], reference[0]
    for i in range(lo, hi):
        out[i] = apply_logit(p, ref, motivation[i], english[i], standing[i], resources[i], home_ties[i], 0.0)


@kernels.compiled
def applicants(year, first_cohort, intake, n, stage, n_electives, max_per_student, elective_study_year, motivation,
               english, standing, resources, home_ties, traits, took_elective, net_key, net_spec, base, coef,
               reference):
    """Students of the cohorts now in an elective study year, with electives left to take,
    who apply this year (in order of id).

    Most students do not apply in a given year: :func:`sim.kernels.surely_not` settles them
    from ``traits`` (the rule without peers, in single precision) at the largest value the
    peer term can take. For the others the rule is tried with the largest and the smallest
    value the peer term can take (share 1 or 0); only if those disagree is the share read
    (same uniform, so the outcome is exactly the rule's)."""
    p, ref = coef[0], reference[0]
    key = kernels.stream_key(base, year, 0)
    out = np.empty(max(elective_study_year.sum() * intake, 0), np.int64)
    k = 0
    peer_max, peer_min = max(p.b_peers, 0.0), min(p.b_peers, 0.0)
    for sy in range(elective_study_year.shape[0] - 1, 0, -1):  # oldest cohort first: ids in order
        if not elective_study_year[sy]:
            continue
        c = year - sy + 1
        lo = max((c - first_cohort) * intake, 0)
        hi = min((c - first_cohort + 1) * intake, n)
        for i in range(lo, hi):
            u = kernels.uniform_at(key, i)
            t = traits[i]
            if kernels.surely_not(u, t + peer_max, 1e-6 * (1.0 + abs(t))):
                continue
            if stage[i] != STUDENT or n_electives[i] >= max_per_student:
                continue
            x = apply_logit(p, ref, motivation[i], english[i], standing[i], resources[i], home_ties[i], 0.0)
            if not kernels.happens(u, x + peer_max):
                continue
            if kernels.happens(u, x + peer_min) or kernels.happens(
                    u, x + p.b_peers * network.share(net_key, net_spec, i, took_elective)):
                out[k] = i
                k += 1
    return out[:k]


@kernels.compiled
def offers(app, year, english, standing, research, threshold_hic, threshold_lmic, destination_share, base, coef,
           reference):
    """Each applicant's wished host (high-income or not; among high-income hosts, the
    destination country with ``destination_share``) and elective type (research or
    clinical), whether they meet that host's English threshold, and their priority with
    hosts: grades plus English plus noise (a standard normal). Returns (high-income,
    research, eligible, priority, in the destination)."""
    p, ref = coef[0], reference[0]
    key_hic, key_type = kernels.stream_key(base, year, 1), kernels.stream_key(base, year, 2)
    key_noise, key_place = kernels.stream_key(base, year, 3), kernels.stream_key(base, year, 5)
    m = app.shape[0]
    hic = np.empty(m, np.bool_)
    research_type = np.empty(m, np.bool_)
    eligible = np.empty(m, np.bool_)
    priority = np.empty(m, np.float64)
    destination = np.empty(m, np.bool_)
    for j in range(m):
        i = app[j]
        hic[j] = kernels.happens(kernels.uniform_at(key_hic, i), prefers_hic_logit(p, ref, english[i]))
        research_type[j] = kernels.happens(kernels.uniform_at(key_type, i), research_logit(p, research[i]))
        eligible[j] = english[i] >= (threshold_hic if hic[j] else threshold_lmic)
        noise = kernels.norm_ppf(kernels.uniform_at(key_noise, i))
        priority[j] = standing[i] + english[i] + p.host_priority_noise_sd * noise
        destination[j] = hic[j] and kernels.uniform_at(key_place, i) < destination_share
    return hic, research_type, eligible, priority, destination


@kernels.compiled
def uptake(ids, hic, award, resources, family_funds, scholarship, cost_hic, cost_lmic, year, base, coef):
    """Whether each accepted student can pay: family funds (``resources`` times ``family_funds``)
    plus any scholarship, against the cost of the host they chose (USD)."""
    p = coef[0]
    key = kernels.stream_key(base, year, 4)
    takes = np.empty(ids.shape[0], np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        funds = resources[i] * family_funds + (scholarship if award[j] else 0.0)
        cost = cost_hic if hic[j] else cost_lmic
        takes[j] = kernels.happens(kernels.uniform_at(key, i), afford_logit(p, funds, cost))
    return takes


@kernels.compiled
def pools(eligible, hic):
    """Positions of the eligible applicants who want a high-income host, and of those who do not."""
    out_hic = np.empty(eligible.shape[0], np.int64)
    out_lmic = np.empty(eligible.shape[0], np.int64)
    nh = nl = 0
    for j in range(eligible.shape[0]):
        if eligible[j]:
            if hic[j]:
                out_hic[nh] = j
                nh += 1
            else:
                out_lmic[nl] = j
                nl += 1
    return out_hic[:nh], out_lmic[:nl]


@kernels.compiled
def taken(app, acc, takes, award, hic, research_type, in_destination, n_electives, elective_type, elective_place,
          hic_elective, destination_elective, role_model, transformed, research_tilt, intl_health, took_elective,
          year, base, coef):
    """Record the electives taken by the accepted applicants (``app[acc]``) who take them up
    (``takes``): the place (0 the destination country, 1 another high-income country, 2 a
    low/middle-income country) and what each did (SON2021): role model met, perspective
    transformed, and the research (research electives) and international-health
    (low/middle-income hosts) tilts. A first elective sets the person's elective type and
    place; everyone who went is marked in ``took_elective`` (the network's bit set).
    Returns (who went, in order; counts of scholarships used, high-income, destination and
    research electives)."""
    p = coef[0]
    key_role, key_trans = kernels.stream_key(base, year, 0), kernels.stream_key(base, year, 1)
    key_tilt, key_intl = kernels.stream_key(base, year, 2), kernels.stream_key(base, year, 3)
    who = np.empty(acc.shape[0], np.int64)
    counts = np.zeros(4, np.int64)
    n = 0
    for k in range(acc.shape[0]):
        if not takes[k]:
            continue
        j = acc[k]
        i = app[j]
        who[n] = i
        n += 1
        place = 0 if in_destination[j] else (1 if hic[j] else 2)
        research = research_type[j]
        counts[0] += award[k]
        counts[1] += hic[j]
        counts[2] += place == 0
        counts[3] += research
        if n_electives[i] == 0:
            elective_type[i] = 1 if research else 0
            elective_place[i] = place
        n_electives[i] += 1
        if place <= 1:
            hic_elective[i] = True
        if place == 0:
            destination_elective[i] = True
        if kernels.uniform_at(key_role, i) < p.role_model:
            role_model[i] = True
        if kernels.uniform_at(key_trans, i) < p.perspective_transformed:
            transformed[i] = True
        if research and kernels.uniform_at(key_tilt, i) < p.research_tilt_given_research:
            research_tilt[i] = True
        if place == 2 and kernels.uniform_at(key_intl, i) < p.intl_health_given_lmic:
            intl_health[i] = True
    network.set_bits(took_elective, who[:n])
    return who[:n], counts
