"""Where the yearly step's time goes: milliseconds per simulated year for each process of
``CareerModel.step`` (``sim.model.PROCESSES``) and the year's record, at a chosen size.

    python benchmarks/phases.py                 # 100k people, 35 years, best of 5 runs
    python benchmarks/phases.py --people 1M --repeat 3
    python benchmarks/phases.py --kernels       # also the time inside each compiled loop

Each process's ``step`` (and the record) is timed with ``time.perf_counter`` around the
call, over the reported years (the spin-up runs when the model is built, before the timers
are set); a first, untimed run loads the compiled decision loops. The figure per part is the fastest
repeat's total divided by the number of years. Timing every part adds a little overhead,
so the parts add up to slightly more than an untimed run. With ``--kernels`` every
compiled loop called from Python (the processes' and ``sim.kernels``') is timed the same
way, call overhead included, which splits the year into compiled passes and the Python
and numpy code between them.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import label, parse_size  # noqa: E402


def step_parts(model) -> list[str]:
    """The parts of a model's year, in order: each process by name, then ``record``."""
    return [*model.processes, "record"]


def _timed(method, name, spent):
    def timed(*a, **kw):
        t = time.perf_counter()
        out = method(*a, **kw)
        spent[name] += time.perf_counter() - t
        return out

    return timed


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
        for name, process in model.processes.items():
            process.step = _timed(process.step, name, spent)
        model.record = _timed(model.record, "record", spent)
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

    import sys as _sys

    from sim import kernels
    from sim.cli import load_config
    from sim.model import CareerModel

    logging.getLogger("MESA").setLevel(logging.WARNING)
    from sim.processes.life import burn_in_years

    base = load_config([f"years={args.years}"])
    o = base.origin
    intake = max(1, round(people / (burn_in_years(base) + args.years)))  # as run.py sizes its runs
    cfg = dataclasses.replace(base, scale=intake / o.intake_per_year)
    CareerModel(dataclasses.replace(cfg, scale=0.01, years=min(args.years, 25))).run()  # load compiled code

    parts = step_parts(CareerModel(dataclasses.replace(cfg, scale=0.001, years=1)))
    in_kernels: dict[str, float] = {}
    calls: dict[str, int] = {}
    originals: list[tuple[object, str, object]] = []
    if args.kernels:
        # Python code calls compiled functions as attributes of their modules
        for qualname, fn in kernels.compiled_functions().items():
            module_name, _, name = qualname.rpartition(".")
            module = _sys.modules[module_name]
            if name == "uniform_at":
                continue

            def timed_kernel(*a, _f=fn, _n=qualname.replace("sim.processes.", "").replace("sim.", "")):
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
