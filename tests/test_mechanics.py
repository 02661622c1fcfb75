"""Building blocks checked against plain definitions."""

import numpy as np

from sim.processes.electives import allocate_slots
from sim.processes.match import run_match
from sim.population import NONE
from sim.streams import Streams
from conftest import run


def test_match_equals_top_positions_of_the_pooled_scores():
    rng = np.random.default_rng(3)
    for positions in (0, 1, 50, 400, 5000):
        origin = rng.normal(0.3, 1.2, 300)
        world = np.sort(rng.normal(0, 1, 1000))
        pooled = np.concatenate([origin, world])
        cut = np.sort(pooled)[::-1][positions - 1] if 0 < positions <= len(pooled) else -np.inf
        expected = origin >= cut if positions > 0 else np.zeros(300, bool)
        np.testing.assert_array_equal(run_match(origin, world, positions), expected)


def test_slots_go_to_the_highest_priority():
    pr = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    assert list(np.flatnonzero(allocate_slots(pr, 2))) == [1, 3]
    assert allocate_slots(pr, 0).sum() == 0 and allocate_slots(pr, 10).all()


def counted_share(net, name, ids):
    counts, inv_ties = net.counts(name)
    return counts[ids] * inv_ties


def test_incremental_peer_counts_equal_the_network_share():
    model = run("scale=0.05", "years=20")[0]
    pop, net = model.pop, model.network
    ids = np.arange(pop.n)
    np.testing.assert_allclose(counted_share(net, "abroad", ids), net.share(ids, pop.abroad_start[: pop.n] != NONE))
    np.testing.assert_allclose(counted_share(net, "elective", ids), net.share(ids, pop.n_electives[: pop.n] > 0))
    adj = net.adjacency(ids, pop.n)
    np.testing.assert_allclose(adj @ (pop.n_electives[: pop.n] > 0).astype(float),
                               net.share(ids, pop.n_electives[: pop.n] > 0), rtol=1e-6)
    assert counted_share(net, "abroad", ids).max() > 0


def test_counter_based_uniforms_depend_only_on_id_year_and_stream():
    s = Streams(42)
    ids = np.arange(1000)
    u = s.uniform("x", 3, ids)
    np.testing.assert_array_equal(u[500:], s.uniform("x", 3, ids[500:]))
    np.testing.assert_array_equal(s.uniform_grid("x", np.array([2, 3]), ids)[1], u)
    assert not np.array_equal(u, s.uniform("y", 3, ids))
    assert not np.array_equal(u, s.uniform("x", 4, ids))
    assert 0.45 < u.mean() < 0.55 and u.min() >= 0 and u.max() < 1


def test_peer_counts_do_not_overflow_with_many_ties():
    # a person can be the tie of more than 127 others (tiny cohorts, many ties)
    model = run("scale=0.0002", "years=12", "params.network.peers=150", "params.network.alumni=150")[0]
    pop, net = model.pop, model.network
    ids = np.arange(pop.n)
    shares = counted_share(net, "elective", ids)
    assert shares.min() >= 0 and shares.max() <= 1
    np.testing.assert_allclose(shares, net.share(ids, pop.n_electives[: pop.n] > 0))
