"""The summary's one-pass counts equal the same metrics computed directly from the people's
arrays with numpy (the definitions of docs/metrics.md), for the whole run and per subgroup."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import run
from sim import metrics
from sim.events import CAUSE
from sim.population import EXITED, NO_YEAR, PRACTISING_ABROAD, RETURNED, TRAINING_ABROAD


@pytest.fixture(scope="module")
def finished():
    return run("origin=romania", "scale=0.05", "years=20")  # Romania: two sections, so every grouping


def _share(num, den):
    num, den = int(np.count_nonzero(num)), int(np.count_nonzero(den))
    return (num / den if den else None), den


def test_population_counts_match_their_definitions(finished):
    model, s = finished[0], finished[1]
    pop, horizon, n = model.pop, model.year, model.pop.n
    done, ret = pop.training_done_year[:n], pop.first_return_year[:n]
    for k in (5, 10):
        elig = (done >= 1) & (done <= horizon - k)
        assert (s[f"return_share_{k}y"], s[f"return_share_{k}y_n"]) == _share(
            elig & (ret != NO_YEAR) & (ret - done <= k), elig)
    stage = pop.stage[:n]
    back_now = np.isin(stage, RETURNED)
    for sector, code in zip(("public", "private", "academic"), RETURNED):
        assert (s[f"returnee_share_{sector}"], s[f"returnee_share_{sector}_n"]) == _share(stage == code, back_now)
    returned_in = pop.return_year[:n] >= 1
    assert (s["knowledge_transfer_index"], s["knowledge_transfer_index_n"]) == _share(pop.kt[:n] & returned_in,
                                                                                      returned_in)
    grads = pop.grad_year[:n] >= 1
    in_model = grads & (stage != EXITED)
    assert (s["abroad_share_end"], s["abroad_share_end_n"]) == _share(
        in_model & np.isin(stage, (TRAINING_ABROAD, PRACTISING_ABROAD)), in_model)
    exited = pop.exit_year[:n] >= 1
    cause = pop.exit_cause[:n]
    assert s["deaths_total"] == np.count_nonzero(exited & (cause == CAUSE["death"])) > 0
    retired = np.flatnonzero(exited & (cause == CAUSE["retired"]))
    assert s["retirements_total"] == len(retired) > 0
    assert s["median_retirement_age"] == float(np.median(model.age(retired, pop.exit_year[retired])))
    ages = model.age(np.flatnonzero(returned_in), pop.return_year[:n][returned_in])
    assert s["returns_near_retirement_total"] == np.count_nonzero(ages >= metrics.RETURN_NEAR_RETIREMENT_AGE)


def test_subgroup_counts_match_their_definitions(finished):
    model, s = finished[0], finished[1]
    pop, horizon = model.pop, model.year
    grads = np.flatnonzero(pop.grad_year[: pop.n] >= 1)
    place, female, section = pop.elective_place[grads], pop.female[grads], pop.section[grads]
    done, ret = pop.training_done_year[grads], pop.first_return_year[grads]
    elig = (done >= 1) & (done <= horizon - 10)
    back = elig & (ret != NO_YEAR) & (ret - done <= 10)
    origin = model.cfg.origin
    groups = {("elective", "yes"): place >= 0, ("elective_destination", "hic"): (place == 0) | (place == 1),
              ("elective_place", "lmic"): place == 2, ("sex", "male"): ~female,
              ("section", origin.second_section.name): section == 1}
    for (grouping, level), members in groups.items():
        g = s["by_group"][grouping][level]
        assert g["graduates_total"] == np.count_nonzero(members) > 0, (grouping, level)
        assert (g["went_abroad_share"], g["went_abroad_share_n"]) == _share(
            members & (pop.abroad_start[grads] != NO_YEAR), members)
        assert (g["return_share_10y"], g["return_share_10y_n"]) == _share(members & back, members & elig)
        assert (g["publication_share"], g["publication_share_n"]) == _share(members & pop.publication[grads],
                                                                            members)
    yes, no = s["by_group"]["elective"]["yes"], s["by_group"]["elective"]["no"]
    assert yes["graduates_total"] + no["graduates_total"] == s["graduates_total"]


@pytest.mark.parametrize("spans", [[], [3], [3, 5], [1, 1, 2, 9], [0, 4, 4, 4, 7]])
def test_median_from_counts_is_numpys_median(spans):
    counts = np.bincount(np.asarray(spans, np.int64), minlength=12)
    expected = float(np.median(40.5 + np.asarray(spans))) if spans else None
    assert metrics._median_age(40.5, counts) == expected
