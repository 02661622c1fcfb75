"""Where the yearly step's time goes: milliseconds per simulated year for each part of
``CareerModel.step``, at a chosen size.

    python benchmarks/phases.py                 # 100k people, 35 years, best of 5 runs
    python benchmarks/phases.py --people 1M --repeat 3
    python benchmarks/phases.py --kernels       # also the time inside each compiled loop

Each part of the step is timed with ``time.perf_counter`` around the call; a first,
untimed run loads the compiled decision loops. The figure per part is the fastest
repeat's total divided by the number of years. Timing every part adds a little overhead,
so the parts add up to slightly more than an untimed run. With ``--kernels`` every
compiled loop of ``sim.kernels`` (and the network's) is timed the same way, call
overhead included, which splits the year into compiled passes and the Python and numpy
code between them.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import label, parse_size  # noqa: E402


def step_parts(model_cls) -> list[str]:
    """The methods ``CareerModel.step`` calls, in order, read from its source."""
    return re.findall(r"self\.(\w+)\(", inspect.getsource(model_cls.step))


def _time_runs(cfg, parts, repeat, in_kernels, calls):
    """Run the model ``repeat`` times with every part of the step timed; keep the fastest run's figures."""
    from sim.model import CareerModel

    best: dict[str, float] = {}
    best_kernels: dict[str, float] = {}
    best_calls: dict[str, int] = {}
    best_total = float("inf")
    for _ in range(repeat):
        model = CareerModel(cfg)
        spent = dict.fromkeys(parts, 0.0)
        in_kernels.clear()
        calls.clear()
        for name in parts:
            method = getattr(model, name)

            def timed(*a, _m=method, _n=name, _spent=spent, **kw):
                t = time.perf_counter()
                out = _m(*a, **kw)
                _spent[_n] += time.perf_counter() - t
                return out

            setattr(model, name, timed)
        t0 = time.perf_counter()
        model.run()
        total = time.perf_counter() - t0
        if total < best_total:
            best_total, best, best_kernels, best_calls = total, spent, dict(in_kernels), dict(calls)
    return best, best_kernels, best_calls, best_total, model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", default="100k", help="people simulated (e.g. 10k, 100k, 1M; default 100k)")
    ap.add_argument("--years", type=int, default=35)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs; the fastest is reported (default 5)")
    ap.add_argument("--kernels", action="store_true", help="also time each compiled loop")
    args = ap.parse_args(argv)
    try:
        people = parse_size(args.people)
    except (ValueError, IndexError):
        people = 0
    if people < 1:
        print(f"error: --people: {args.people!r} is not a size; use a number such as 100000, 100k or 1M",
              file=sys.stderr)
        return 2
    if args.years < 1 or args.repeat < 1:
        print("error: --years and --repeat must be at least 1", file=sys.stderr)
        return 2

    from sim import kernels, network, streams
    from sim.app import load_config
    from sim.model import CareerModel

    logging.getLogger("MESA").setLevel(logging.WARNING)
    base = load_config([f"years={args.years}"])
    o = base.origin
    intake = max(1, round(people / (o.school_years - 1 + args.years)))  # as run.py sizes its runs
    cfg = dataclasses.replace(base, scale=intake / o.intake_per_year)
    CareerModel(dataclasses.replace(cfg, scale=0.01, years=min(args.years, 25))).run()  # load compiled code

    parts = step_parts(CareerModel)
    in_kernels: dict[str, float] = {}
    calls: dict[str, int] = {}
    originals: list[tuple[object, str, object]] = []
    if args.kernels:
        # the model calls kernels as attributes of sim.kernels (and sim.network, sim.streams)
        for module in (kernels, network, streams):
            for name, fn in list(vars(module).items()):
                if hasattr(fn, "py_func") and name != "uniform_at":

                    def timed_kernel(*a, _f=fn, _n=name):
                        t = time.perf_counter()
                        out = _f(*a)
                        in_kernels[_n] = in_kernels.get(_n, 0.0) + time.perf_counter() - t
                        calls[_n] = calls.get(_n, 0) + 1
                        return out

                    originals.append((module, name, fn))
                    setattr(module, name, timed_kernel)
    try:
        best, best_kernels, best_calls, best_total, model = _time_runs(cfg, parts, args.repeat, in_kernels, calls)
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)

    years = cfg.years
    print(f"{label(people)} people ({model.pop.n:,}), {years} years, fastest of {args.repeat}: "
          f"{best_total * 1000 / years:.3f} ms per simulated year")
    width = max(map(len, parts))
    for name, seconds in sorted(best.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<{width}}  {seconds * 1000 / years:7.3f} ms/year  {seconds / best_total:6.1%}")
    if args.kernels:
        inside = sum(best_kernels.values())
        print(f"in compiled loops: {inside * 1000 / years:.3f} ms per simulated year ({inside / best_total:.0%}), "
              f"{sum(best_calls.values()) / years:.0f} calls a year")
        width = max(map(len, best_kernels), default=0)
        for name, seconds in sorted(best_kernels.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<{width}}  {seconds * 1000 / years:7.3f} ms/year  {best_calls[name] / years:5.1f} calls/year")
    return 0


if __name__ == "__main__":
    sys.exit(main())
