"""Missing, not zero: a share whose denominator is empty is null (None), never 0 or 1, and
every share carries its denominator as ``<metric>_n``."""

import json

import pytest

from conftest import run
from sim import outputs
from sim import targets as tg

# six years: nobody who trains abroad (three years or more, after at least a year of
# preparation) can have finished ten years before the horizon
SHORT = ("scale=0.02", "years=6")


def _pairs(summary: dict):
    """(share name, value, n) for every share with a denominator, by_group included."""
    for key, value in summary.items():
        if isinstance(value, dict):
            yield from _pairs(value)
        elif key.endswith("_n") and key[:-2] in summary:
            yield key[:-2], summary[key[:-2]], value


def test_empty_denominator_is_null_not_zero():
    _, s, _, _ = run(*SHORT)
    assert s["return_share_10y_n"] == 0
    assert s["return_share_10y"] is None
    assert s["by_group"]["elective"]["yes"]["return_share_10y"] is None
    assert s["by_group"]["elective"]["yes"]["return_share_10y_n"] == 0


def test_every_share_is_null_exactly_when_its_denominator_is_empty():
    for overrides in (SHORT, ("scale=0.05", "years=20")):
        _, s, _, _ = run(*overrides)
        pairs = list(_pairs(s))
        assert len(pairs) > 40
        for name, value, n in pairs:
            assert isinstance(n, int) and n >= 0, name
            assert (value is None) == (n == 0), (name, value, n)
            if value is not None and name != "elective_oversubscription" and not name.startswith("median_"):
                assert 0 <= value <= 1, (name, value)


def test_no_electives_means_no_elective_mix():
    _, s, _, _ = run(*SHORT, "origin.electives.hic_slots=0", "origin.electives.lmic_slots=0")
    assert s["elective_share_hic_n"] == 0 and s["elective_share_hic"] is None
    assert s["elective_share_research"] is None
    assert s["elective_oversubscription_n"] == 0 and s["elective_oversubscription"] is None
    assert s["by_group"]["elective"]["yes"]["graduates_total"] == 0
    assert s["by_group"]["elective"]["yes"]["went_abroad_share"] is None
    # a real zero stays a zero: students did apply, none was accepted
    assert s["elective_share_cohort"] == 0.0 and s["elective_share_cohort_n"] > 0


def test_nobody_abroad_has_no_median_years_abroad():
    _, s, _, _ = run(*SHORT, "destination.img_positions=0")
    assert s["went_abroad_share"] == 0.0
    assert s["median_years_abroad_n"] == 0
    assert s["median_years_abroad"] is None and s["median_years_abroad_censored"] is None


def test_null_is_written_as_json_null(tmp_path):
    _, s, _, _ = run(*SHORT)
    outputs.write_json(tmp_path / "summary.json", s)
    text = (tmp_path / "summary.json").read_text()
    assert '"return_share_10y": null' in text
    assert json.loads(text)["return_share_10y"] is None


def test_a_null_metric_misses_its_target(tmp_path):
    _, s, _, _ = run(*SHORT)
    target = tg.Target("return_share_10y", 0.5, 0.0, 1.0, "test")
    (row,) = tg.compare(s, [target])
    assert row["model"] is None and row["distance"] is None and row["within"] is False
    assert "null" in tg.format_table([row])


@pytest.mark.parametrize("k", [5, 10])
def test_return_share_denominator_counts_those_followed_long_enough(k):
    model, s, _, _ = run("scale=0.05", "years=20")
    pop, horizon = model.pop, model.year
    done = pop.training_done_year[: pop.n]
    assert s[f"return_share_{k}y_n"] == int(((done >= 1) & (done <= horizon - k)).sum())  # inside the horizon
