"""Paired speed comparison of this checkout with another version of the project.

::

    git worktree add ../careersim-baseline 40f8e84          # the version to compare with
    python benchmarks/paired.py ../careersim-baseline        # 3 pairs at 10k, 100k and 1M people
    python benchmarks/paired.py ../careersim-baseline --pairs 5 --sizes 1M --repeat 1

Runs each checkout's own ``benchmarks/run.py --sizes ... --no-materialize --no-e2e
--reference-max 0 --repeat R`` in turn (baseline, this one, baseline, ...), so both see the
same machine at nearly the same time, and reports per size the model's agent-steps/s of the
reported years in each and their ratio (this / baseline) pair by pair, with the median. On a
shared machine absolute rates drift by tens of percent within an hour; the paired ratio does
not. Each checkout sizes "people" by its own definition (the reworked model counts its
spin-up cohorts), so agent-steps/s, not the run time, is the comparable figure.

The baseline runs with an interpreter that has the baseline itself installed: by default its
own ``.venv`` (``python -m venv .venv && .venv/bin/python -m pip install -e .`` in the
baseline checkout), or ``--baseline-python``. With this checkout's interpreter the baseline's
benchmark would import this checkout's package (an editable install resolves ``sim`` to its
own folder) and compare this version with itself. Writes ``benchmarks/results/paired.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _run(checkout: Path, python: str, sizes: str, repeat: int, out: Path) -> dict:
    cmd = [python, "benchmarks/run.py", "--sizes", sizes, "--no-materialize", "--no-e2e", "--reference-max", "0",
           "--repeat", str(repeat), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed in {checkout}:\n{proc.stderr[-2000:]}")
    rows = json.loads(out.read_text())["rows"]
    return {r["target"]: r["agent_steps_per_s"] for r in rows if r["engine"] == "model"
            and not r.get("materialize_agents")}


def _join(xs, fmt: str = "{:.1f}") -> str:
    return ", ".join(fmt.format(x) for x in xs)


def _commit(checkout: Path) -> str | None:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True)
    return proc.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("baseline", type=Path, help="a checkout of the version to compare with")
    ap.add_argument("--pairs", type=int, default=3, help="baseline/this pairs (default 3)")
    ap.add_argument("--sizes", default="10k,100k,1M", help="people simulated, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="child processes per measurement (fastest kept)")
    ap.add_argument("--baseline-python", help="interpreter with the baseline installed (default: its .venv)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "paired.json")
    args = ap.parse_args(argv)
    if not (args.baseline / "benchmarks" / "run.py").is_file():
        print(f"error: baseline: {args.baseline} has no benchmarks/run.py; expected a checkout of this project",
              file=sys.stderr)
        return 2
    python = args.baseline_python or str(args.baseline / ".venv" / "bin" / "python")
    if not Path(python).is_file():
        print(f"error: --baseline-python: {python} does not exist; expected an interpreter with the baseline "
              "installed (e.g. its own .venv: python -m venv .venv && .venv/bin/python -m pip install -e .)",
              file=sys.stderr)
        return 2
    probe = subprocess.run([python, "-c", "import sim, pathlib; print(pathlib.Path(sim.__file__).resolve())"],
                           cwd=tempfile.gettempdir(), capture_output=True, text=True)  # as its child processes import it
    if not probe.stdout.strip().startswith(str(args.baseline.resolve())):
        print(f"error: --baseline-python: {python} imports the package from {probe.stdout.strip() or 'nowhere'}, "
              f"not from {args.baseline}; install the baseline into it (pip install -e {args.baseline})",
              file=sys.stderr)
        return 2
    if args.pairs < 1 or args.repeat < 1:
        print("error: --pairs and --repeat: expected integers >= 1", file=sys.stderr)
        return 2
    base, this = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.pairs):
            t0 = time.perf_counter()
            base.append(_run(args.baseline.resolve(), python, args.sizes, args.repeat,
                             Path(tmp) / f"base{i}.json"))
            this.append(_run(ROOT, sys.executable, args.sizes, args.repeat, Path(tmp) / f"this{i}.json"))
            print(f"pair {i + 1} of {args.pairs} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    rows = []
    print(f"{'people':>10}  {'baseline M/s':>24}  {'this M/s':>24}  {'ratio this/baseline':>28}  median")
    for size in base[0]:
        b = [p[size] for p in base]
        t = [p[size] for p in this]
        ratios = [y / x for x, y in zip(b, t)]
        rows.append({"people": size, "baseline": b, "this": t, "ratios": ratios,
                     "median_ratio": statistics.median(ratios)})
        print(f"{size:>10,}  {_join(x / 1e6 for x in b):>24}  {_join(x / 1e6 for x in t):>24}  "
              f"{_join(ratios, '{:.2f}'):>28}  {statistics.median(ratios):.2f}")
    load = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": "python benchmarks/paired.py BASELINE " + " ".join(
                                        a for a in (sys.argv[1:] if argv is None else argv) if a != str(args.baseline)),
                                    "baseline_commit": _commit(args.baseline), "this_commit": _commit(ROOT),
                                    "pairs": args.pairs, "repeat": args.repeat,
                                    "load_average_end": load, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
