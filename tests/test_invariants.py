"""Conservation, flows against the event log, and capacities."""

import numpy as np
import pandas as pd

from sim.population import STAGES
from conftest import run

STOCKS = list(STAGES)


def test_every_person_in_exactly_one_stage_and_stocks_add_up(small_run):
    model, summary, ts, _ = small_run
    stage = model.pop.stage[: model.pop.n]
    assert stage.min() >= 0 and stage.max() < len(STAGES)
    # stocks (with cumulative exits) equal the initial school plus everyone who entered since
    total = ts[STOCKS].sum(axis=1).to_numpy()
    expected = ts["initial_population"].to_numpy() + ts["entrants"].cumsum().to_numpy()
    np.testing.assert_array_equal(total, expected)
    assert (ts[STOCKS].to_numpy() >= 0).all()
    # the last row matches the array state person by person
    assert list(ts[STOCKS].iloc[-1]) == list(np.bincount(stage, minlength=len(STAGES)))
    assert summary["entrants_total"] + summary["initial_population"] == model.pop.n


def test_stocks_rebuilt_from_event_log_match_timeseries(small_run):
    model, _, ts, ev = small_run
    # start: the initial school are students; replay every event year by year
    counts = np.zeros(len(STAGES), dtype=np.int64)
    counts[STAGES.index("students")] = model.initial_size
    codes = {s: i for i, s in enumerate(STAGES)}
    for year, row in ts.set_index("year").iterrows():
        e = ev[ev["year"] == year]
        frm = e["from_stage"].dropna().map(codes).to_numpy(dtype=int)
        to = e["to_stage"].map(codes).to_numpy(dtype=int)
        np.subtract.at(counts, frm, 1)
        np.add.at(counts, to, 1)
        assert list(counts) == [row[s] for s in STAGES], f"year {year}"


def test_flows_match_event_log(small_run):
    _, _, ts, ev = small_run
    by_year = ts.set_index("year")
    abroad = {"training_abroad", "practising_abroad"}
    returned = {"returned_public", "returned_private", "returned_academic"}

    def count(mask):
        return ev[mask].groupby("year").size().reindex(by_year.index, fill_value=0)

    pd.testing.assert_series_equal(count(ev["cause"] == "entry"), by_year["entrants"], check_names=False)
    pd.testing.assert_series_equal(count(ev["cause"] == "graduation"), by_year["graduates"], check_names=False)
    pd.testing.assert_series_equal(count(ev["to_stage"] == "training_abroad"), by_year["departures"],
                                   check_names=False)
    pd.testing.assert_series_equal(count(ev["from_stage"].isin(abroad) & ev["to_stage"].isin(returned)),
                                   by_year["returns"], check_names=False)
    pd.testing.assert_series_equal(count(ev["cause"] == "pathway_start"), by_year["pathway_starts"],
                                   check_names=False)
    pd.testing.assert_series_equal(count(ev["to_stage"] == "exited"), by_year["exits"], check_names=False)
    assert by_year["departures"].sum() > 0 and by_year["returns"].sum() > 0


def test_capacities_never_exceeded():
    # tight capacities so that they bind
    model, _, ts, _ = run("scale=0.05", "years=15", "policy.img_positions_multiplier=0.001",
                          "policy.elective_slots_multiplier=0.3")
    assert (ts["electives_accepted"] <= ts["elective_slots"]).all()
    assert (ts["electives_started"] <= ts["electives_accepted"]).all()
    assert (ts["matches"] <= ts["positions"]).all()
    assert ts["positions"].iloc[0] == round(5864 * 0.001)
    # slots bind: more applications than acceptances in every year
    assert (ts["elective_applications"] > ts["electives_accepted"]).all()


def test_one_row_per_year_and_rates_in_range(small_run):
    model, summary, ts, _ = small_run
    assert list(ts["year"]) == list(range(1, model.cfg.years + 1))
    assert ts["home_training_quality"].between(0, 1).all()
    assert ts.notna().all().all()
