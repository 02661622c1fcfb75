"""Each decision moves the right way when its driver moves.

Paired runs share the seed, so with per-decision random streams the only difference
between them is the driver (common random numbers): small effects show up cleanly. Policy
levers take effect from the first reported year, so paired runs that differ only in a lever
start from the same population.
"""

import numpy as np

from conftest import run
from sim import kernels
from sim.cli import load_config
from sim.kernels import coefficients
from sim.processes import abroad, intention, returnees

BASE = ("scale=0.1", "years=25")


def test_more_scholarship_money_more_electives():
    _, lo, tslo, _ = run(*BASE, "policy.scholarship_budget_multiplier=0")
    _, hi, tshi, _ = run(*BASE, "policy.scholarship_budget_multiplier=5")
    assert tshi["scholarships"].sum() > 0 == tslo["scholarships"].sum()
    assert hi["elective_rate_annual"] > lo["elective_rate_annual"] * 1.05
    assert tshi["electives_started"].sum() > tslo["electives_started"].sum()


def test_more_host_slots_more_electives_less_oversubscription():
    _, lo, _, _ = run(*BASE, "policy.elective_slots_multiplier=0.5")
    _, hi, _, _ = run(*BASE, "policy.elective_slots_multiplier=2.0")
    assert hi["elective_rate_annual"] > lo["elective_rate_annual"]
    assert hi["elective_oversubscription"] < lo["elective_oversubscription"]


def test_stronger_ties_at_home_more_returns():
    weak = run(*BASE, "origin.home_ties.a=1.5", "origin.home_ties.b=4.5")[1]
    strong = run(*BASE, "origin.home_ties.a=4.5", "origin.home_ties.b=1.5")[1]
    assert strong["return_share_5y"] > weak["return_share_5y"]
    assert strong["median_years_abroad"] <= weak["median_years_abroad"]


def test_family_pull_outweighs_the_income_gap_in_the_return_decision():
    # NEWMAN2025 "family trumps finances": for one person, going from weak (0.2) to strong (0.8)
    # ties at home, with ageing parents to care for, moves the return probability more than
    # removing the whole income gap
    kernels.compile_all()
    cfg = load_config([])
    p, ref, o = coefficients(cfg.params.returning)[0], coefficients(cfg.params.reference)[0], cfg.origin

    def prob(ties, care, gap):
        return kernels.expit(abroad.return_logit(p, ref, ties, care, False, False, False, False, False, gap,
                                                 o.reintegration_difficulty, 1.0, 0.0))

    family_effect = prob(0.8, True, o.income_gap) - prob(0.2, False, o.income_gap)
    income_effect = prob(0.5, False, 0.0) - prob(0.5, False, o.income_gap)
    assert income_effect > 0
    assert family_effect > 2 * income_effect


def test_fewer_residency_positions_lower_match_rate():
    many = run(*BASE, "policy.img_positions_multiplier=1.0")[1]
    few = run(*BASE, "policy.img_positions_multiplier=0.4")[1]
    assert few["match_rate"] < many["match_rate"]
    assert few["went_abroad_share"] < many["went_abroad_share"]


def test_bigger_world_pool_lower_match_rate():
    small = run(*BASE, "destination.world_pool_applicants=8000")[1]
    big = run(*BASE, "destination.world_pool_applicants=14000")[1]
    assert big["match_rate"] < small["match_rate"]


def test_world_applicants_with_more_experience_lower_the_origins_match_rate():
    weak = run(*BASE, "destination.world_pool_clinical_experience_share=0.2")[1]
    strong = run(*BASE, "destination.world_pool_clinical_experience_share=0.95")[1]
    assert strong["match_rate"] < weak["match_rate"]


def test_better_home_training_fewer_intend_and_leave():
    poor = run(*BASE, "origin.training_quality_baseline=0.4")[1]
    good = run(*BASE, "origin.training_quality_baseline=0.8")[1]
    assert good["intention_share"] < poor["intention_share"]
    assert good["applicant_share"] < poor["applicant_share"]
    assert good["went_abroad_share"] < poor["went_abroad_share"]


def test_training_investment_raises_quality_and_lowers_outflow():
    base = run(*BASE)[1]
    reform = run(*BASE, "policy.training_quality_investment=0.01")[1]
    assert reform["home_training_quality_start"] == base["home_training_quality_start"]  # same start
    assert reform["home_training_quality_end"] > base["home_training_quality_end"]
    assert reform["intention_share"] < base["intention_share"]
    assert reform["applicant_share"] < base["applicant_share"]


def test_electives_in_the_destination_raise_going_abroad_most():
    g = run(*BASE)[1]["by_group"]
    assert g["elective"]["yes"]["went_abroad_share"] > 2 * g["elective"]["no"]["went_abroad_share"]
    assert g["elective_place"]["destination"]["intention_share"] > g["elective_place"]["other_hic"]["intention_share"]
    assert g["elective_place"]["destination"]["went_abroad_share"] > g["elective_place"]["lmic"]["went_abroad_share"]


def test_home_return_requirement_forces_returns():
    on = run(*BASE, "policy.home_return_requirement=true")
    off = run(*BASE, "policy.home_return_requirement=false")
    assert on[2]["forced_returns"].sum() > 0 == off[2]["forced_returns"].sum()
    assert on[1]["returns_total"] > off[1]["returns_total"]


def test_disillusionment_with_state_system_pushes_private_practice():
    content = run(*BASE, "origin.public_system_satisfaction=0.9")[1]
    disillusioned = run(*BASE, "origin.public_system_satisfaction=0.2")[1]
    assert disillusioned["returnee_share_private"] > content["returnee_share_private"]


def test_academic_returnees_raise_training_quality_and_mentoring():
    none = run(*BASE, "params.feedback.quality_gain_per_returnee_density=0",
               "params.research.mentor_per_academic_returnee=0")
    fb = run(*BASE)
    baseline = load_config([]).origin.training_quality_baseline
    assert none[1]["home_training_quality_start"] == none[1]["home_training_quality_end"] == baseline
    assert fb[1]["home_training_quality_start"] > baseline + 0.02
    assert fb[2]["mentor_found_prob"].iloc[-1] > none[2]["mentor_found_prob"].iloc[-1]


def test_peer_influence_spreads_electives():
    off = run(*BASE, "params.elective.b_peers=0")[1]
    on = run(*BASE, "params.elective.b_peers=4")[1]
    assert on["elective_oversubscription"] > off["elective_oversubscription"]


def test_family_at_home_holds_people_back_from_going():
    single = run(*BASE, "params.life.partner_share=0")[1]
    family = run(*BASE, "params.life.partner_share=1", "params.life.children_share=1")[1]
    assert family["intention_share"] < single["intention_share"]
    assert family["applicant_share"] < single["applicant_share"]


def test_visa_refusals_hold_back_action_not_intention():
    base = run(*BASE)
    strict = run(*BASE, "policy.visa_denial_multiplier=10")
    # the intention does not read the visa (it moves only through fewer peers abroad); acting on it does
    assert abs(strict[1]["intention_share"] - base[1]["intention_share"]) < 0.005
    assert strict[2]["pathway_starts"].sum() < 0.8 * base[2]["pathway_starts"].sum()
    assert strict[1]["applicant_share"] < base[1]["applicant_share"]


def test_knowledge_transfer_depends_on_the_returnee():
    kernels.compile_all()
    cfg = load_config([])
    p, ref = coefficients(cfg.params.returnees)[0], coefficients(cfg.params.reference)[0]
    absorption = cfg.origin.knowledge_absorption

    def kt(sector=0, research=False, years=5.0, support=0.0, absorb=absorption):
        return kernels.expit(returnees.knowledge_transfer_logit(p, ref, sector, research, years, absorb, support))

    assert kt(sector=2) > kt(sector=0) > kt(sector=1)          # academic > public > private
    assert kt(research=True) > kt()
    assert kt(years=10.0) > kt(years=2.0)
    assert kt(support=0.5) > kt()
    assert kt(absorb=0.8) > kt(absorb=0.2)


def test_reintegration_support_raises_knowledge_transfer_through_the_returnees():
    base = run(*BASE)[1]
    support = run(*BASE, "policy.reintegration_support=0.5")[1]
    assert support["knowledge_transfer_index"] > base["knowledge_transfer_index"]
    # the lever acts inside the returnee's rule: its effect differs between returnees (here by
    # position), instead of adding one constant to everyone's chance
    kernels.compile_all()
    cfg = load_config([])
    p, ref = coefficients(cfg.params.returnees)[0], coefficients(cfg.params.reference)[0]

    def gain(sector):
        def kt(support):
            return kernels.expit(returnees.knowledge_transfer_logit(p, ref, sector, False, 5.0, 0.5, support))
        return kt(0.5) - kt(0.0)

    assert gain(0) > 0 and gain(1) > 0 and gain(2) > 0
    assert abs(gain(2) - gain(1)) > 0.02


def test_failed_reintegration_drives_leaving_again():
    absorbing = run(*BASE, "origin.knowledge_absorption=0.9", "origin.reintegration_difficulty=0.2")[1]
    wasting = run(*BASE, "origin.knowledge_absorption=0.1", "origin.reintegration_difficulty=0.9")[1]
    assert wasting["reemigrations_total"] > absorbing["reemigrations_total"]


def test_age_lowers_the_intention():
    kernels.compile_all()
    cfg = load_config([])
    p, ref = coefficients(cfg.params.intention)[0], coefficients(cfg.params.reference)[0]
    ctx = np.array([19.0, 0, 1, 35, 0.55, 0.7, 0.5, 18.0, 10.0])
    young = intention.intention_logit(p, ref, ctx, -4.0, 0.5, 0.0, 27.0, False, False, False)
    older = intention.intention_logit(p, ref, ctx, -4.0, 0.5, 0.0, 42.0, False, False, False)
    assert older < young
