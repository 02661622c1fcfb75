"""Building blocks checked against plain definitions: slots, the match against the world
pool, the network's ties, counter-based uniforms."""

import numpy as np
import pytest

from conftest import run
from sim import kernels, network
from sim.cli import load_config
from sim.model import CareerModel
from sim.processes.electives import allocate_slots
from sim.streams import Streams


def test_slots_go_to_the_highest_priority():
    pr = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    assert list(np.flatnonzero(allocate_slots(pr, 2))) == [1, 3]
    assert allocate_slots(pr, 0).sum() == 0 and allocate_slots(pr, 10).all()


@pytest.fixture(scope="module")
def match():
    model = CareerModel(load_config(["scale=0.01", "years=1"]))
    return model.processes["match"]


def test_match_equals_taking_the_top_positions_of_an_explicit_pooled_draw(match):
    # the match draws only how many of the world pool score above each origin applicant;
    # drawing the whole pool explicitly and taking the top positions must give the same
    # chance of a match for each origin score
    origin = np.array([2.5, 1.6, 1.1, 0.7, 0.2, -0.4])
    world, positions, reps = match.world, 55, 4000
    rng = np.random.default_rng(1)
    drawn = np.zeros(len(origin))
    explicit = np.zeros(len(origin))
    for _ in range(reps):
        drawn += match.run(origin, positions, rng)
        comp = rng.choice(len(match.world_weights), size=world, p=match.world_weights)
        pool = rng.normal(match.world_means[comp], match.world_sd)
        cut = np.sort(np.concatenate([origin, pool]))[::-1][positions - 1]
        explicit += origin >= cut
    np.testing.assert_allclose(drawn / reps, explicit / reps, atol=0.035)
    assert 0.05 < drawn[3] / reps < 0.95  # a score whose chance is neither 0 nor 1


def test_match_edge_cases(match):
    rng = np.random.default_rng(2)
    scores = np.array([0.3, -0.2, 1.0])
    assert not match.run(scores, 0, rng).any()
    assert match.run(scores, match.world + 3, rng).all()
    assert match.run(np.array([50.0]), 1, rng).all()   # far above everyone
    assert not match.run(np.array([-50.0]), 3, rng).any()  # far below a pool larger than the positions


def test_ties_are_peers_of_the_cohort_and_alumni_of_the_span_before():
    model = run("scale=0.02", "years=5")[0]
    net = model.network
    intake, first = model.intake, model.first_cohort
    for i in (0, 5, intake * 3 + 7, model.pop.n - 1):
        cohort = first + i // intake
        ties = net.ties(i)
        peers, alumni = ties[:net.peers], ties[net.peers:]
        assert ((first + peers // intake) == cohort).all() and (peers != i).all()
        if cohort == first:
            assert ((first + alumni // intake) == cohort).all()
        else:
            alumni_cohort = first + alumni // intake
            assert (alumni_cohort < cohort).all() and (alumni_cohort >= cohort - net.span).all()
        np.testing.assert_array_equal(ties, net.ties(i))  # fixed for life


def test_network_share_is_the_mean_over_the_ties():
    model = run("scale=0.02", "years=5")[0]
    pop, net = model.pop, model.network
    ids = np.arange(0, pop.n, 37)
    for name, indicator in (("elective", pop.n_electives[: pop.n] > 0), ("abroad", pop.spells[: pop.n] > 0)):
        # the bit sets the rules read hold exactly the people with the property
        marked = np.array([network.has(net.bits(name), i) for i in range(pop.n)])
        np.testing.assert_array_equal(marked, indicator)
        expected = np.array([indicator[net.ties(i)].mean() for i in ids])
        np.testing.assert_allclose(net.shares(ids, name), expected)
        assert expected.max() > 0


def test_peers_are_spread_over_the_cohort():
    cfg = load_config(["scale=0.05", "years=1"])
    model = CareerModel(cfg)
    net = model.network
    targets = np.concatenate([net.ties(i)[:net.peers] for i in range(model.intake)])
    counts = np.bincount(targets, minlength=model.intake)[: model.intake]
    # each member is a peer of about `peers` others (Poisson-like spread, none excluded by construction)
    assert abs(counts.mean() - net.peers) < 1e-9 and counts.max() < 4 * net.peers


def test_counter_based_uniforms_depend_only_on_id_year_and_stream():
    s = Streams(42)
    ids = np.arange(1000)
    u = s.uniform("x", 3, ids)
    np.testing.assert_array_equal(u[500:], s.uniform("x", 3, ids[500:]))
    np.testing.assert_array_equal(s.uniform_grid("x", np.array([2, 3]), ids)[1], u)
    assert not np.array_equal(u, s.uniform("y", 3, ids))
    assert not np.array_equal(u, s.uniform("x", 4, ids))
    assert 0.45 < u.mean() < 0.55 and u.min() >= 0 and u.max() < 1


def test_a_tie_never_points_outside_the_people_drawn():
    kernels.compile_all()
    spec = np.array([150, 150, 10, -20, 3], np.int64)  # tiny cohorts, many ties
    key = Streams(1).key("network", 0)
    for i in range(0, 60):
        t = np.array([network.tie(key, spec, i, j) for j in range(300)])
        cohort = -20 + i // 3
        assert (t >= 0).all() and (t < (cohort + 20 + 1) * 3).all()
