"""Each decision moves the right way when its driver moves.

Paired runs share the seed, so with per-decision random streams the only difference
between them is the driver (common random numbers): small effects show up cleanly.
"""

from conftest import run
from sim.app import load_config
from sim import kernels
from sim.kernels import coefficients
from sim.processes import abroad

BASE = ("scale=0.1", "years=25")


def test_more_scholarship_money_more_electives():
    _, lo, tslo, _ = run(*BASE, "policy.scholarship_budget_usd=0")
    _, hi, tshi, _ = run(*BASE, "policy.scholarship_budget_usd=5000000")
    assert tshi["scholarships"].sum() > 0 == tslo["scholarships"].sum()
    assert hi["elective_rate_annual"] > lo["elective_rate_annual"] * 1.05
    assert tshi["electives_started"].sum() > tslo["electives_started"].sum()


def test_more_host_slots_more_electives_less_oversubscription():
    _, lo, _, _ = run(*BASE, "policy.elective_slots_multiplier=0.5")
    _, hi, _, _ = run(*BASE, "policy.elective_slots_multiplier=2.0")
    assert hi["elective_rate_annual"] > lo["elective_rate_annual"]
    assert hi["elective_oversubscription"] < lo["elective_oversubscription"]


def test_stronger_family_ties_at_home_more_returns():
    weak = run(*BASE, "origin.family_ties_home.a=1.5", "origin.family_ties_home.b=4.5")[1]
    strong = run(*BASE, "origin.family_ties_home.a=4.5", "origin.family_ties_home.b=1.5")[1]
    assert strong["return_share_5y"] > weak["return_share_5y"]
    assert strong["median_years_abroad"] <= weak["median_years_abroad"]


def test_family_pull_outweighs_the_income_gap_in_the_return_decision():
    # NEWMAN2025 "family trumps finances": for one person, going from weak (0.2) to strong (0.8)
    # family ties at home moves the return probability more than removing the whole income gap
    kernels.compile_all()
    cfg = load_config([])
    p, ref, o = coefficients(cfg.params.returning)[0], coefficients(cfg.params.reference)[0], cfg.origin

    def prob(family, gap):
        return kernels.expit(abroad.return_logit(p, ref, family, 4.0, False, 1.0, gap, o.reintegration_difficulty, 0.0))

    family_effect = prob(0.8, o.income_gap) - prob(0.2, o.income_gap)
    income_effect = prob(0.5, 0.0) - prob(0.5, o.income_gap)
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


def test_better_home_training_fewer_leave():
    poor = run(*BASE, "origin.training_quality_initial=0.4")[1]
    good = run(*BASE, "origin.training_quality_initial=0.8")[1]
    assert good["applicant_share"] < poor["applicant_share"]
    assert good["went_abroad_share"] < poor["went_abroad_share"]


def test_training_investment_raises_quality_and_lowers_outflow():
    base = run(*BASE)[1]
    reform = run(*BASE, "policy.training_quality_investment=0.01")[1]
    assert reform["home_training_quality_end"] > base["home_training_quality_end"]
    assert reform["applicant_share"] < base["applicant_share"]


def test_electives_raise_the_share_who_go_abroad():
    s = run(*BASE)[1]
    g = s["by_group"]
    assert g["elective"]["yes"]["went_abroad_share"] > 2 * g["elective"]["no"]["went_abroad_share"]
    assert g["elective_destination"]["hic"]["went_abroad_share"] > g["elective_destination"]["lmic"][
        "went_abroad_share"]


def test_home_return_requirement_forces_returns():
    on = run(*BASE, "policy.home_return_requirement=true")
    off = run(*BASE, "policy.home_return_requirement=false")
    assert on[2]["forced_returns"].sum() > 0 == off[2]["forced_returns"].sum()
    assert on[1]["return_share_5y"] > off[1]["return_share_5y"]


def test_disillusionment_with_state_system_pushes_private_practice():
    content = run(*BASE, "origin.public_system_satisfaction=0.9")[1]
    disillusioned = run(*BASE, "origin.public_system_satisfaction=0.2")[1]
    assert disillusioned["returnee_share_private"] > content["returnee_share_private"]


def test_academic_returnees_raise_training_quality_and_mentoring():
    none = run(*BASE, "params.feedback.quality_gain_per_returnee_density=0",
               "params.research.mentor_per_academic_returnee=0")
    fb = run(*BASE)
    assert none[1]["home_training_quality_end"] == none[1]["home_training_quality_start"]
    assert fb[1]["home_training_quality_end"] > fb[1]["home_training_quality_start"]
    assert fb[2]["mentor_found_prob"].iloc[-1] > none[2]["mentor_found_prob"].iloc[-1]


def test_peer_influence_spreads_electives():
    off = run(*BASE, "params.elective.b_peers=0")[1]
    on = run(*BASE, "params.elective.b_peers=4")[1]
    assert on["elective_oversubscription"] > off["elective_oversubscription"]
