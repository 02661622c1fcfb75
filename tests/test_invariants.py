"""Conservation, flows against the event log, capacities, calendar years."""

import numpy as np
import pandas as pd

from conftest import run
from sim.population import EXITED, STAGES

STOCKS = list(STAGES)


def test_every_person_in_exactly_one_stage_and_stocks_add_up(small_run):
    model, summary, ts, _ = small_run
    stage = model.pop.stage[: model.pop.n]
    assert stage.min() >= 0 and stage.max() < len(STAGES)
    # stocks (with exits inside the horizon) equal the initial population plus everyone who entered since
    total = ts[STOCKS].sum(axis=1).to_numpy()
    expected = ts["initial_population"].to_numpy() + ts["entrants"].cumsum().to_numpy()
    np.testing.assert_array_equal(total, expected)
    assert (ts[STOCKS].to_numpy() >= 0).all()
    # the last row matches the array state person by person (those who left during the spin-up
    # are not part of the reported world)
    reported = (stage != EXITED) | (model.pop.exit_year[: model.pop.n] >= 1)
    assert list(ts[STOCKS].iloc[-1]) == list(np.bincount(stage[reported], minlength=len(STAGES)))
    assert summary["entrants_total"] + summary["initial_population"] == int(reported.sum())


def test_the_initial_population_is_in_every_stage(small_run):
    model = small_run[0]
    initial = model.initial_stocks
    assert initial[STAGES.index("exited")] == 0
    assert (initial[:-1] > 0).all(), dict(zip(STAGES, initial))
    assert model.initial_size == initial.sum() == (model.initial_stage != EXITED).sum()


def test_stocks_rebuilt_from_event_log_match_timeseries(small_run):
    model, _, ts, ev = small_run
    counts = model.initial_stocks.copy()
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
    pd.testing.assert_series_equal(count(ev["cause"] == "visa_forced_return"), by_year["forced_returns"],
                                   check_names=False)
    pd.testing.assert_series_equal(count(ev["cause"] == "re_emigrated"), by_year["reemigrations"],
                                   check_names=False)
    pd.testing.assert_series_equal(count(ev["cause"] == "pathway_start"), by_year["pathway_starts"],
                                   check_names=False)
    pd.testing.assert_series_equal(count(ev["to_stage"] == "exited"), by_year["exits"], check_names=False)
    assert by_year["departures"].sum() > 0 and by_year["returns"].sum() > 0


def test_capacities_never_exceeded():
    # tight capacities so that they bind
    model, _, ts, _ = run("scale=0.05", "years=15", "policy.img_positions_multiplier=0.01",
                          "policy.elective_slots_multiplier=0.3")
    assert (ts["electives_accepted"] <= ts["elective_slots"]).all()
    assert (ts["electives_started"] <= ts["electives_accepted"]).all()
    assert (ts["matches"] <= ts["positions"]).all()
    assert ts["positions"].iloc[0] == round(5864 * 0.01 * 0.05)
    # slots bind: more applications than acceptances in every year
    assert (ts["elective_applications"] > ts["electives_accepted"]).all()


def test_one_row_per_calendar_year_and_rates_in_range(small_run):
    model, summary, ts, ev = small_run
    start = model.cfg.start_year
    assert list(ts["year"]) == list(range(start, start + model.cfg.years))
    assert ev["year"].min() >= start and ev["year"].max() <= start + model.cfg.years - 1
    assert ts["home_training_quality"].between(0, 1).all()
    assert ts.notna().all().all()


def test_start_year_only_relabels_the_years():
    a = run("scale=0.02", "years=8")
    b = run("scale=0.02", "years=8", "start_year=1990")
    assert list(b[2]["year"]) == list(range(1990, 1998))
    pd.testing.assert_frame_equal(a[2].drop(columns="year"), b[2].drop(columns="year"))
    assert a[1] == b[1]
