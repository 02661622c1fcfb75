"""The compiled building blocks against plain Python definitions."""

import math

import numpy as np
import pytest

from sim import kernels as k
from sim.cli import load_config
from sim.population import NO_YEAR
from sim.processes import match, research
from sim.streams import Streams, _mix_scalar


def test_compiled_uniforms_equal_splitmix64_in_plain_python():
    s = Streams(2026)
    ids = np.array([0, 1, 2, 17, 123_456, 2**31 + 5])
    key = int(s.key("pathway", 7, 1))
    expected = [(_mix_scalar(i * 0x9E3779B97F4A7C15 + key) >> 11) / 2**53 for i in ids.tolist()]
    assert s.uniform("pathway", 7, ids, 1).tolist() == expected


def test_stream_keys_are_the_same_in_python_and_in_compiled_code():
    k.compile_all()
    s = Streams(2026)
    for name, year, draw in (("intention", -55, 0), ("match", 0, 3), ("life", 35, 7)):
        base = np.uint64(s._key(name))
        assert s.key(name, year, draw) == k.stream_key(base, year, draw)
    assert s.key("match", 1) != s.key("match", 2) != s.key("match", 2, 1)


def test_happens_is_u_below_the_logistic_of_x():
    k.compile_all()
    rng = np.random.default_rng(1)
    us = np.concatenate([rng.random(20_000), np.arange(64) / 64, [0.0, 1 - 2**-53]])
    xs = np.concatenate([rng.normal(0, 4, 10_000), rng.uniform(-40, 40, 10_000), [-800.0, 800.0]])
    for u in us[::7]:
        for x in xs[::97]:
            assert k.happens(u, x) == (u < 1 / (1 + math.exp(-x)) if x > -700 else False)
    # the table decides most unlikely events without the exponential, and never wrongly
    assert not k.happens(0.5, -0.01) and k.happens(0.49, 0.0) and not k.happens(0.999, 6.0)


def test_happens_decides_likely_events_from_the_table_exactly_at_the_bin_edges():
    # uniforms just below each bin's upper edge, log-odds at, just below and just above the
    # table's threshold: the table's "happens" never disagrees with u < expit(x)
    k.compile_all()
    edges = np.arange(1, 64) / 64
    us = np.concatenate([np.nextafter(edges, 0), edges - 1e-12, edges - 1e-3])
    thresholds = k._LOGIT_CEIL[:-1]
    xs = np.concatenate([thresholds, np.nextafter(thresholds, -np.inf), thresholds - 1e-9,
                         np.log(edges / (1 - edges)), [np.inf]])
    assert all(k.happens(u, x) == (u < k.expit(x)) for u in us for x in xs)
    assert k.happens(0.5, math.log(33 / 31) + 1e-9)  # above its bin's upper edge: decided by the table


def test_coefficients_carry_every_number_and_the_logit_of_each_probability():
    cfg = load_config([])
    p = cfg.params.returning
    c = k.coefficients(p)[0]
    assert c["base_annual"] == p.base_annual and c["b_home_ties"] == p.b_home_ties
    assert c["logit_base_annual"] == pytest.approx(math.log(p.base_annual / (1 - p.base_annual)))
    assert "logit_b_home_ties" not in c.dtype.names  # a coefficient, not a probability
    # a probability of exactly 0 or 1 gets a finite logit
    extreme = k.coefficients(type(p)(**{**vars(p), "base_annual": 0.0}))[0]
    assert math.isfinite(extreme["logit_base_annual"]) and extreme["logit_base_annual"] < -20


def test_departures_draw_training_length_from_its_distribution():
    n = 40_000
    ids = np.arange(n)
    years = np.array([3, 4, 5])
    probs = np.array([0.5, 0.3, 0.2])
    none = lambda dtype: np.full(n, NO_YEAR, dtype)  # noqa: E731
    fields = dict(abroad_start=none(np.int16), abroad_since=none(np.int16), spells=np.zeros(n, np.int8),
                  training_end=none(np.int16), visa=np.zeros(n, np.int8), wish_improve=np.zeros(n, bool))
    role = np.arange(n) % 2 == 0
    offset = np.zeros(n, np.float32)
    cfg = load_config([])
    p = k.coefficients(cfg.params.returning)
    ref = k.coefficients(cfg.params.reference)
    s = Streams(5)
    quality = cfg.params.reference.training_quality  # dissatisfaction at the reference: the base applies
    match.departures(ids, 10, years, probs * 2, 0.25, role, offset, quality, fields["abroad_start"],
                     fields["abroad_since"], fields["spells"], fields["training_end"], fields["visa"],
                     fields["wish_improve"], s.base("a"), s.base("b"), p, ref)
    shares = np.bincount(fields["training_end"] - 10, minlength=6)[3:] / n
    np.testing.assert_allclose(shares, probs, atol=0.01)  # unnormalised weights are fine
    assert (fields["abroad_start"] == 10).all() and (fields["spells"] == 1).all()
    assert abs((fields["visa"] == 1).mean() - 0.25) < 0.01 and set(np.unique(fields["visa"])) == {1, 2}
    r = cfg.params.returning
    with_role = k.expit(k.logit(r.wish_improve_base) + r.b_wish_role_model)
    assert abs(fields["wish_improve"][role].mean() - with_role) < 0.015
    assert abs(fields["wish_improve"][~role].mean() - r.wish_improve_base) < 0.015


def test_normal_quantile_and_beta_tables_match_scipy():
    from scipy import special, stats

    k.compile_all()
    p = np.concatenate([[1e-12, 1e-6, 0.001, 0.0242, 0.0243], np.linspace(0.01, 0.99, 99), [0.9999, 1 - 1e-9]])
    np.testing.assert_allclose(k.norm_ppfs(p), special.ndtri(p), rtol=2e-9, atol=1e-9)
    for a, b in ((6.7, 3.3), (2.0, 4.0), (0.7, 0.9), (150.0, 40.0)):
        table = k.beta_quantiles(a, b)
        q = np.linspace(0, 1, len(table))
        np.testing.assert_allclose(table[1:-1], stats.beta.ppf(q[1:-1], a, b), atol=2e-4)
        u = np.random.default_rng(0).random(20_000)
        draws = np.array([k.from_table(table, x) for x in u])
        assert stats.kstest(draws, stats.beta(a, b).cdf).pvalue > 0.001


def test_move_keeps_stocks_and_returns_the_stages_left():
    stage = np.array([0, 0, 1, 2, 1], np.int8)
    since = np.zeros(5, np.int16)
    stocks = np.bincount(stage, minlength=4).astype(np.int64)
    left = k.move(np.array([1, 2, 4]), np.array([3, 3, 0], np.int8), stage, since, 9, stocks)
    assert left.tolist() == [0, 1, 1]
    assert stage.tolist() == [0, 3, 3, 2, 0] and since.tolist() == [0, 9, 9, 0, 9]
    assert stocks.tolist() == np.bincount(stage, minlength=4).tolist()


def test_cached_kernels_are_keyed_on_the_files_they_compile_in():
    # numba keys a cache entry on the defining file only; every compiled function also on
    # all files holding compiled code and the stage codes, so that changing a shared rule
    # cannot leave a stale loop running
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for path in k._source_files():
        digest.update(Path(path).read_bytes())
    functions = k.compiled_functions()
    assert "sim.kernels.happens" in functions and "sim.processes.research.research_engagement" in functions
    for kernel in functions.values():
        stamp = kernel._cache._cache_file._source_stamp
        assert isinstance(stamp, tuple) and stamp[1] == digest.hexdigest()


@pytest.mark.slow
def test_a_changed_rule_is_recompiled_not_loaded_stale(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "configs", tmp_path / "configs", symlinks=True)
    shutil.copytree(root / "experiments", tmp_path / "experiments")
    script = ("import sim\n"
              f"assert sim.__file__.startswith({str(tmp_path)!r}), sim.__file__\n"
              "from sim.cli import load_config\nfrom sim.model import CareerModel, FLOWS\n"
              "m = CareerModel(load_config(['scale=0.02', 'years=15'])).run()\n"
              "print(int(m.flow_records[:, FLOWS.index('research_started')].sum()))\n")

    def research_started() -> int:
        out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                             check=True)
        return int(out.stdout.split()[-1])

    before = research_started()
    assert research_started() == before  # loaded from the cache
    rules = tmp_path / "sim" / "kernels.py"
    text = rules.read_text()
    line = "    return math.log(p / (1.0 - p))\n"
    assert text.count(line) == 2  # the compiled logit, and the plain one the coefficients use
    head, _, tail = text.partition("def logit(p: float)")
    rules.write_text(head + "def logit(p: float)" + tail.replace(line, "    return math.log(p / (1.0 - p)) + 3.0\n", 1))
    assert research_started() > 2 * before


def _python(code: str, env: dict | None = None, wrap: list[str] | None = None):
    """Run ``code`` in a fresh Python process from the repository root."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    full_env = {**os.environ, "PYTHONPATH": str(root), **(env or {})}
    return subprocess.run([*(wrap or []), sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          env=full_env, timeout=900)


def test_the_compiling_message_appears_only_when_compiling_happens(tmp_path):
    code = ("from sim import kernels\nkernels.compile_all()\nkernels.expit(0.3)\n"
            "print('seconds', kernels.report_compile_time())\n")
    first = _python(code, {"NUMBA_CACHE_DIR": str(tmp_path)})
    assert first.returncode == 0, first.stderr
    assert "compiling the model's decision loops (once per machine and version" in first.stderr
    seconds = float(first.stdout.split()[-1])
    assert seconds > 0 and f"compiled in {seconds:.1f} s" in first.stderr
    again = _python(code, {"NUMBA_CACHE_DIR": str(tmp_path)})  # loaded from the cache: not compiled, not said
    assert again.returncode == 0, again.stderr
    assert "compil" not in again.stderr and float(again.stdout.split()[-1]) == 0.0


NO_LOCATOR = ("import numba.core.caching as caching\n"
              "impl = getattr(caching, 'CacheImpl', None) or caching._CacheImpl\n"
              "impl._locator_classes = []  # as where no folder is writable\n")


def test_without_a_writable_cache_the_model_compiles_in_memory_and_says_so_in_one_line():
    out = _python(NO_LOCATOR + "from sim import kernels\nkernels.compile_all()\n"
                  "print(kernels.expit(0.0), kernels.uniform_at(3, 5))\n")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if "NUMBA_CACHE_DIR" in line]
    assert len(lines) == 1 and "compiling in memory" in lines[0]
    assert "in memory, for this process only" in out.stderr
    assert float(out.stdout.split()[0]) == 0.5


def test_a_read_only_package_and_home_compile_in_memory(tmp_path):
    """The real case: the package folder and the home folder are read-only (a private mount)."""
    import shutil
    from pathlib import Path

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux)")
    root = Path(__file__).resolve().parent.parent
    probe = _python("print(1)", wrap=["unshare", "-m", "true"])
    if probe.returncode != 0:
        pytest.skip("no private mount namespaces here (needs root)")
    home = tmp_path / "home"
    home.mkdir()
    script = ("from sim import kernels; kernels.compile_all(); print(kernels.expit(0.0), kernels._CACHED)")
    shell = (f"mount --bind -o ro {root / 'sim'} {root / 'sim'} && mount -t tmpfs -o ro tmpfs {home} && "
             f"exec \"$0\" -c '{script}'")
    out = _python("", {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")},
                  wrap=["unshare", "-m", "sh", "-c", shell])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0.5", "False"]
    assert "NUMBA_CACHE_DIR" in out.stderr and "Traceback" not in out.stderr


def test_with_jit_disabled_the_model_runs_with_the_same_results():
    code = ("from sim.model import CareerModel\n"
            "m = CareerModel(seed=3, scale=0.005, years=2).run()\n"
            "print(m.stock_records.tolist(), m.flow_records.tolist())\n")
    compiled = _python(code)
    plain = _python(code, {"NUMBA_DISABLE_JIT": "1"})
    assert compiled.returncode == 0 and plain.returncode == 0, plain.stderr
    assert plain.stdout == compiled.stdout
    assert "NUMBA_DISABLE_JIT=1: the model's decision loops run as plain Python" in plain.stderr
    assert "Warning" not in plain.stderr
