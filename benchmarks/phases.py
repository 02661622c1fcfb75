"""Where the yearly step's time goes: milliseconds per simulated year for each part of
``CareerModel.step``, at a chosen size.

    python benchmarks/phases.py                 # 100k people, 35 years, best of 5 runs
    python benchmarks/phases.py --people 1M --repeat 3

Each part of the step is timed with ``time.perf_counter`` around the call; a first,
untimed run loads the compiled decision loops. The figure per part is the fastest
repeat's total divided by the number of years. Timing every part adds a little overhead,
so the parts add up to slightly more than an untimed run.
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", default="100k", help="people simulated (e.g. 10k, 100k, 1M; default 100k)")
    ap.add_argument("--years", type=int, default=35)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs; the fastest is reported (default 5)")
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

    from sim.app import load_config
    from sim.model import CareerModel

    logging.getLogger("MESA").setLevel(logging.WARNING)
    base = load_config([f"years={args.years}"])
    o = base.origin
    intake = max(1, round(people / (o.school_years - 1 + args.years)))  # as run.py sizes its runs
    cfg = dataclasses.replace(base, scale=intake / o.intake_per_year)
    CareerModel(dataclasses.replace(cfg, scale=0.01, years=min(args.years, 25))).run()  # load compiled code

    parts = step_parts(CareerModel)
    best: dict[str, float] | None = None
    best_total = float("inf")
    for _ in range(args.repeat):
        model = CareerModel(cfg)
        spent = dict.fromkeys(parts, 0.0)
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
            best_total, best = total, spent
    years = cfg.years
    print(f"{label(people)} people ({model.pop.n:,}), {years} years, fastest of {args.repeat}: "
          f"{best_total * 1000 / years:.3f} ms per simulated year")
    width = max(map(len, parts))
    for name, seconds in sorted(best.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<{width}}  {seconds * 1000 / years:7.3f} ms/year  {seconds / best_total:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
