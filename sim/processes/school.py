"""Medical school and home training: who enters (their traits), graduation, completing
home training."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..events import CAUSE
from ..population import EXITED, HOME_PRACTICE, HOME_TRAINING, STUDENT
from . import Process


class Entry(Process):
    """Every cohort is drawn at set-up (one compiled pass from counter-based uniforms);
    each year the year's cohort enters medical school."""

    name = "entry"

    def on_draw(self, model, lo: int, hi: int) -> None:
        o, pop, key = model.cfg.origin, model.pop, model.streams.key
        sec = o.second_section
        second = sec if sec is not None else o
        tables = np.stack([kernels.beta_quantiles(d.a, d.b) for d in (
            o.motivation, o.english, o.resources, o.home_ties,
            second.motivation, second.english, o.resources, second.home_ties)])
        shares = np.array([[o.time_barrier_share, o.pay_barrier_share],
                           [second.time_barrier_share, second.pay_barrier_share]])
        draw_traits(lo, hi, sec.share if sec is not None else 0.0, o.female_share, o.orientation_research_share,
                    o.orientation_policy_share, o.training_satisfaction_sd, tables, shares, pop.section, pop.female,
                    pop.motivation, pop.english, pop.standing, pop.resources, pop.home_ties, pop.satisfaction_offset,
                    pop.orientation, pop.time_barrier, pop.pay_barrier, key("population", 0), key("population", 0, 1))
        pop.cohort[lo:hi] = model.first_cohort + np.arange(lo, hi) // model.intake

    def step(self, model) -> None:
        model.admit(cohort=model.year)


@kernels.compiled
def draw_traits(lo, hi, second_share, female_share, research_share, policy_share, satisfaction_sd, tables, shares,
                section, female, motivation, english, standing, resources, home_ties, satisfaction_offset,
                orientation, time_barrier, pay_barrier, key_a, key_b):
    """Each person's traits from their own uniforms: the section (then its distributions),
    sex, motivation, English, academic standing (a uniform rank), family resources, ties to
    home, the offset of their satisfaction with home training, career orientation, and the
    time and pay barriers to research (POP2024). Ten uniforms a person, from two keys."""
    for i in range(lo, hi):
        base = 8 * i
        s = 1 if kernels.uniform_at(key_a, base) < second_share else 0
        section[i] = s
        t = 4 * s
        female[i] = kernels.uniform_at(key_a, base + 1) < female_share
        motivation[i] = kernels.from_table(tables[t], kernels.uniform_at(key_a, base + 2))
        english[i] = kernels.from_table(tables[t + 1], kernels.uniform_at(key_a, base + 3))
        resources[i] = kernels.from_table(tables[t + 2], kernels.uniform_at(key_a, base + 4))
        home_ties[i] = kernels.from_table(tables[t + 3], kernels.uniform_at(key_a, base + 5))
        standing[i] = kernels.uniform_at(key_a, base + 6)
        satisfaction_offset[i] = satisfaction_sd * kernels.from_table(kernels.NORMAL_QUANTILES,
                                                                      kernels.uniform_at(key_a, base + 7))
        u = kernels.uniform_at(key_b, base)
        orientation[i] = 1 if u < research_share else (2 if u < research_share + policy_share else 0)
        time_barrier[i] = kernels.uniform_at(key_b, base + 1) < shares[s, 0]
        pay_barrier[i] = kernels.uniform_at(key_b, base + 2) < shares[s, 1]


class Graduation(Process):
    """Final-year students graduate into home training (publication, and for a second
    section that mostly comes from abroad, leaving the origin); graduates whose home
    training ends this year move on to home practice."""

    name = "graduation"
    STREAMS = {"key_publication": "publication", "key_graduation": "graduation"}

    def __init__(self, model) -> None:
        self.use_streams(model.streams)

    def step(self, model) -> None:
        pop, o, year = model.pop, model.cfg.origin, model.year
        lo, hi = model.cohort_bounds(year - o.school_years + 1, year - o.school_years + 1)  # the final-year cohort
        sec = o.second_section
        leave = sec.leave_after_graduation_share if sec is not None else 0.0
        done, leaving = graduation(lo, hi, year, pop.stage, pop.research, pop.publication, pop.grad_year,
                                   pop.section, leave, model.cfg.params.research.publication_given_research,
                                   self.key_publication, self.key_graduation)
        model.move(done, HOME_TRAINING, "graduation")
        model.flow["graduates"] += len(done)
        if len(leaving):
            model.move(leaving, EXITED, "left_origin")
            pop.exit_year[leaving] = year
            pop.exit_cause[leaving] = CAUSE["left_origin"]
            model.flow["exits"] += len(leaving)
        model.processes["intention"].on_graduation(model, done if len(leaving) == 0 else
                                                    done[pop.stage[done] == HOME_TRAINING])
        # those who graduated home_training_years ago finish home training now
        start = year - o.home_training_years
        lo, hi = model.cohort_bounds(start - o.school_years + 1, start - o.school_years + 1)
        done = training_done(lo, hi, pop.stage, pop.grad_year, start)
        model.move(done, HOME_PRACTICE, "home_training_completed")


@kernels.compiled
def graduation(lo, hi, year, stage, research, publication, grad_year, section, leave_share,
               publication_given_research, base_publication, base_leave):
    """Students of the final-year cohort (ids ``lo..hi-1``) graduate: a publication for
    those engaged in research; returns (graduates, those of the second section among them
    who leave the origin)."""
    key_pub, key_leave = kernels.stream_key(base_publication, year, 0), kernels.stream_key(base_leave, year, 0)
    out = np.empty(max(hi - lo, 0), np.int64)
    gone = np.empty(max(hi - lo, 0), np.int64)
    n = m = 0
    for i in range(lo, hi):
        if stage[i] != STUDENT:
            continue
        publication[i] = research[i] and kernels.uniform_at(key_pub, i) < publication_given_research
        grad_year[i] = year
        out[n] = i
        n += 1
        if section[i] == 1 and kernels.uniform_at(key_leave, i) < leave_share:
            gone[m] = i
            m += 1
    return out[:n], gone[:m]


@kernels.compiled
def training_done(lo, hi, stage, grad_year, graduated):
    """Ids in ``lo..hi-1`` still in home training who graduated in ``graduated``."""
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    for i in range(lo, hi):
        if stage[i] == HOME_TRAINING and grad_year[i] == graduated:
            out[n] = i
            n += 1
    return out[:n]


@kernels.compiled
def back_home(ids, grad_year, home_training_years, year):
    """The stage each of ``ids`` (graduates) goes back to at home: home training if it is not
    finished by ``year``, else home practice."""
    out = np.empty(ids.shape[0], np.int8)
    for j in range(ids.shape[0]):
        out[j] = HOME_TRAINING if grad_year[ids[j]] + home_training_years > year else HOME_PRACTICE
    return out
