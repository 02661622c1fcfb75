"""summary.json holds every metric of the output contract, finite and in range."""

import math

SHARES = ["elective_rate_annual", "elective_share_cohort", "elective_share_hic", "elective_share_research",
          "research_engagement_share", "publication_share", "intention_share", "applicant_share",
          "went_abroad_share", "match_rate",
          "first_attempt_match_share", "eventual_match_share", "return_share_5y", "return_share_10y",
          "returnee_share_public", "returnee_share_private", "returnee_share_academic",
          "knowledge_transfer_index", "home_training_quality_start", "home_training_quality_end",
          "abroad_share_end"]
COUNTS = ["graduates_total", "median_years_abroad_censored", "returns_total", "forced_returns_total",
          "reemigrations_total", "retirements_total", "deaths_total"]
GROUPS = {"elective": ("yes", "no"), "elective_destination": ("hic", "lmic"),
          "elective_type": ("clinical", "research"), "sex": ("female", "male")}
GROUP_KEYS = ("graduates_total", "went_abroad_share", "return_share_10y", "research_engagement_share",
              "intention_share")
STOCKS = ["students", "home_training", "home_practice", "preparing_abroad", "training_abroad", "practising_abroad",
          "returned_public", "returned_private", "returned_academic", "exited"]
FLOWS = ["entrants", "graduates", "electives_started", "applications", "matches", "departures", "returns"]


def test_summary_metrics_present_finite_in_range(small_run):
    _, s, _, _ = small_run
    for k in SHARES:
        assert k in s, k
        assert math.isfinite(s[k]) and 0 <= s[k] <= 1, (k, s[k])
        if not k.startswith("home_training_quality"):  # an index, not a share of a count
            assert isinstance(s[f"{k}_n"], int) and s[f"{k}_n"] > 0, k
    for k in COUNTS:
        assert isinstance(s[k], int) and s[k] >= 0, k
    assert s["elective_oversubscription"] >= 1
    assert s["median_years_abroad"] >= 0
    assert abs(s["returnee_share_public"] + s["returnee_share_private"] + s["returnee_share_academic"] - 1) < 1e-9
    assert s["graduates_total"] > 0 and s["went_abroad_share"] > 0


def test_by_group_levels(small_run):
    _, s, _, _ = small_run
    for group, levels in GROUPS.items():
        for level in levels:
            for k in GROUP_KEYS:
                assert k in s["by_group"][group][level], (group, level, k)
    g = s["by_group"]
    assert g["elective"]["yes"]["graduates_total"] + g["elective"]["no"]["graduates_total"] == s["graduates_total"]
    assert g["sex"]["female"]["graduates_total"] + g["sex"]["male"]["graduates_total"] == s["graduates_total"]


def test_timeseries_and_event_columns(small_run):
    _, _, ts, ev = small_run
    for c in ["year", *STOCKS, *FLOWS, "home_training_quality"]:
        assert c in ts.columns, c
    assert list(ev.columns) == ["year", "agent_id", "from_stage", "to_stage", "cause"]
    assert set(ev["to_stage"].dropna().unique()) <= set(STOCKS)
    # only entry events lack a previous stage
    assert (ev["from_stage"].isna() == (ev["cause"] == "entry")).all()


def test_a_run_with_no_retirement_has_a_null_median_and_its_count():
    from sim import metrics
    from sim.cli import load_config
    from sim.events import CAUSE
    from sim.model import CareerModel

    model = CareerModel(load_config(["scale=0.001", "years=2"])).run()
    s = metrics.summary(model)
    assert s["retirements_total"] == s["median_retirement_age_n"] > 0 and s["median_retirement_age"] > 55
    causes = model.pop.exit_cause
    causes[causes == CAUSE["retired"]] = CAUSE["death"]  # as if nobody had retired
    s = metrics.summary(model)
    assert s["retirements_total"] == s["median_retirement_age_n"] == 0
    assert s["median_retirement_age"] is None


def test_kaplan_meier_median_matches_the_product_limit_definition():
    # the textbook estimator, one scan per event time, on random follow-ups with ties and censoring
    import numpy as np

    from sim.metrics import km_median

    def product_limit(durations, observed):
        surv = 1.0
        for t in np.unique(durations[observed]):
            surv *= 1.0 - np.sum((durations == t) & observed) / np.sum(durations >= t)
            if surv <= 0.5:
                return float(t), 0
        return float(durations.max()), 1

    rng = np.random.default_rng(7)
    censored_seen = 0
    for _ in range(2000):
        n = int(rng.integers(1, 40))
        durations = rng.integers(0, 25, n).astype(float)
        observed = rng.random(n) < rng.random()
        got = km_median(durations, observed)
        assert got == product_limit(durations, observed)
        censored_seen += got[1]
    assert 0 < censored_seen < 2000  # both outcomes were exercised
    assert km_median(np.array([]), np.array([], bool)) == (None, None)
    assert km_median(np.array([1.0, 2.0, 3.0]), np.array([True, True, False])) == (2.0, 0)
