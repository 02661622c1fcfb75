"""Speed and memory of the model at 10k, 100k and 1M people, against the per-agent reference.

Run from the repository root::

    python benchmarks/run.py                  # full: 10k, 100k, 1M; reference up to 100k (minutes)
    python benchmarks/run.py --quick          # smoke run: 10k only, small end-to-end run
    python benchmarks/run.py --sizes 10k,30k  # choose the sizes (reference: those up to --reference-max)
    python benchmarks/run.py --replications 20  # cost of one national-scale replication, and where it goes

Every measurement runs in its own child process (this script re-invoked with ``--child``),
so each peak RSS belongs to that measurement alone. One agent-step is one person present
(not exited) in one reported year, summed from the time series (every stock except
``exited``). People simulated = spin-up cohorts + entrants = intake * (burn-in years +
years), so a target size fixes the intake and hence ``scale``. Set-up includes drawing
everyone and the spin-up (the years simulated before the first reported one).

Writes ``benchmarks/results/latest.json`` (``--quick``: ``quick.json``) and prints a table.
Only the standard library, numpy and pandas (and the project) are used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


# ---------------------------------------------------------------- child: one measurement
def _rss_mb() -> float:
    """Current resident set size of this process (Linux /proc; falls back to the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(spec: dict) -> dict:
    import dataclasses
    import logging

    sys.path.insert(0, str(HERE))
    import numpy as np

    from sim import metrics
    from sim.cli import load_config
    from sim.model import CareerModel
    from sim.population import EXITED

    import reference

    logging.getLogger("MESA").setLevel(logging.WARNING)
    cfg = dataclasses.replace(load_config([f"years={spec['years']}"]), scale=spec["scale"], seed=spec["seed"])
    warmup = 0.0
    if spec["engine"] == "model":
        # load the compiled decision loops (compile them, on a machine's first run) before
        # timing: a once-per-process cost like imports, reported as warmup_s
        tw = time.perf_counter()
        CareerModel(dataclasses.replace(cfg, scale=0.01, years=25)).run()
        warmup = time.perf_counter() - tw
    baseline = _rss_mb()
    t0 = time.perf_counter()
    if spec["engine"] == "model":
        model = CareerModel(cfg, materialize_agents=spec["materialize_agents"])
    else:
        model = reference.ReferenceModel(cfg)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    if spec["engine"] == "model":
        metrics.summary(model)
        stocks = np.asarray(model.stock_records)
        n_agents = int(model.pop.n)
    else:
        reference.reference_summary(model)
        stocks = np.asarray(model.stock_records)
        n_agents = len(model.people)
    t3 = time.perf_counter()
    steps = int(np.delete(stocks, EXITED, axis=1).sum())
    split = getattr(model, "setup_seconds", None) if spec["engine"] == "model" else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {
        "engine": spec["engine"],
        "materialize_agents": spec["materialize_agents"] if spec["engine"] == "model" else None,
        "target": spec["target"],
        "n_agents": n_agents,
        "years": cfg.years,
        "scale": cfg.scale,
        "intake": int(model.intake),
        "agent_steps": steps,
        "warmup_s": round(warmup, 4),
        "setup_s": round(t1 - t0, 4),
        **({"draw_s": round(split["draw"], 4), "spin_up_s": round(split["spin_up"], 4)} if split else {}),
        "run_s": round(t2 - t1, 4),
        "summary_s": round(t3 - t2, 4),
        "agent_steps_per_s": round(steps / (t2 - t1), 1),
        "agent_steps_per_s_incl_setup": round(steps / (t2 - t0), 1),
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "bytes_per_agent": round((peak - baseline) * 2**20 / max(n_agents, 1), 1),
    }


# ---------------------------------------------------------------- parent
def run_process(cmd: list[str], timeout: float | None = None, cwd: Path = ROOT) -> tuple[int, str, str, float, float]:
    """Run ``cmd``; returns (exit code, stdout, stderr, wall seconds, peak RSS MB of that process)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        deadline = None if timeout is None else t0 + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        # reaped here (wait4 gives this child's own rusage), so tell Popen not to wait again
        proc.returncode = -9 if timed_out else os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(), err.read().decode(), wall, usage.ru_maxrss / 1024


def measure(spec: dict, timeout: float | None) -> dict:
    code, out, err, wall, peak = run_process([sys.executable, str(Path(__file__).resolve()), "--child",
                                              json.dumps(spec)], timeout=timeout)
    if code != 0:
        reason = "timeout" if code == -9 else f"exit code {code}"
        print(f"  ! {spec['engine']} {spec['target']}: {reason}\n{err[-2000:]}", file=sys.stderr)
        return {**spec, "error": reason}
    row = json.loads(out.strip().splitlines()[-1])
    row["peak_rss_mb"] = round(max(row["peak_rss_mb"], peak), 1)
    row["child_wall_s"] = round(wall, 2)
    return row


def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1], 1)
    return int(float(t[:-1] if t[-1] in "km" else t) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n % 1000 == 0 else str(n))


def machine() -> dict:
    from importlib.metadata import version

    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    return {
        "platform": platform.platform(),
        "cpu": cpu or platform.processor() or None,
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "mesa": version("mesa"),
        "numpy": version("numpy"),
        "numba": version("numba"),
        "pandas": version("pandas"),
        "scipy": version("scipy"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "sim", "benchmarks/reference.py")),
    }


def end_to_end(overrides: list[str], timeout: float | None) -> dict:
    """``python -m sim`` (the default experiment) as a user runs it: wall time and peak RSS."""
    folder = Path(tempfile.mkdtemp(prefix="bench_e2e_"))
    run_dir = folder / "run"
    cmd = [sys.executable, "-m", "sim", *overrides, f"hydra.run.dir={run_dir}"]
    try:
        code, _, err, wall, peak = run_process(cmd, timeout=timeout)
        row = {"command": "python -m sim " + " ".join(overrides), "exit_code": code, "wall_s": round(wall, 2),
               "peak_rss_mb": round(peak, 1)}
        run_json = run_dir / "run.json"
        if code == 0 and run_json.exists():
            meta = json.loads(run_json.read_text())
            row.update({"n_agents": meta.get("people_simulated"), "years": meta.get("years"),
                        "scale": meta.get("scale"), "setup_s": meta.get("setup_seconds"),
                        "run_s": meta.get("run_seconds"), "total_in_process_s": meta.get("total_seconds")})
        elif code != 0:
            print(f"  ! python -m sim failed ({code}):\n{err[-2000:]}", file=sys.stderr)
        return row
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def replication_cost(n: int, years: int, seed: int, out: Path | None) -> int:
    """Run ``n`` national-scale replications in this process and report the cost of one."""
    import dataclasses
    import logging
    import statistics

    sys.path.insert(0, str(ROOT))
    from sim import metrics
    from sim.cli import load_config
    from sim.model import CareerModel

    logging.getLogger("MESA").setLevel(logging.WARNING)
    started_machine = machine()
    cfg = load_config([f"years={years}"])
    tw = time.perf_counter()
    CareerModel(dataclasses.replace(cfg, scale=0.01, years=5)).run()  # load the compiled code
    warmup = time.perf_counter() - tw
    parts: dict[str, list[float]] = {k: [] for k in ("draw", "spin_up", "run", "summary", "timeseries", "total")}
    for k in range(n):
        t0 = time.perf_counter()
        model = CareerModel(dataclasses.replace(cfg, seed=seed + k))
        t1 = time.perf_counter()
        model.run()
        t2 = time.perf_counter()
        metrics.summary(model)
        t3 = time.perf_counter()
        metrics.timeseries(model)
        t4 = time.perf_counter()
        parts["draw"].append(model.setup_seconds["draw"])
        parts["spin_up"].append(model.setup_seconds["spin_up"])
        parts["run"].append(t2 - t1)
        parts["summary"].append(t3 - t2)
        parts["timeseries"].append(t4 - t3)
        parts["total"].append(t4 - t0)
        del model
    median = {k: round(statistics.median(v), 4) for k, v in parts.items()}
    result = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": f"python benchmarks/run.py --replications {n}" + (f" --years {years}" if years != 35 else ""),
        "what": "one national-scale replication of the default experiment as an ensemble runs it: CareerModel(cfg) "
                "(drawing everyone, then the spin-up), run(), metrics.summary, metrics.timeseries; median over "
                "replications with seeds seed..seed+N-1, in one process after loading the compiled code",
        "replications": n, "years": years, "warmup_s": round(warmup, 3), "median_s": median,
        "all_s": {k: [round(x, 4) for x in v] for k, v in parts.items()},
        "machine": started_machine,
    }
    path = out or RESULTS / "replication.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{n} replications, national scale, {years} years; median per replication (s):")
    for k in ("draw", "spin_up", "run", "summary", "timeseries", "total"):
        print(f"  {k:<11} {median[k]:7.3f}")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


def table(rows: list[dict], e2e: dict | None) -> str:
    head = ("size", "engine", "people", "agent-steps", "warm-up s", "setup s", "run s", "steps/s run", "steps/s total",
            "peak MB", "B/agent", "x ref run", "x ref total")
    lines = []
    for r in rows:
        if "error" in r:
            lines.append((label(r["target"]), _engine(r), "-", "-", "-", "-", "-", r["error"], "", "", "", "", ""))
            continue
        lines.append((label(r["target"]), _engine(r), f"{r['n_agents']:,}", f"{r['agent_steps']:,}",
                      f"{r['warmup_s']:.2f}" if r.get("warmup_s") else "", f"{r['setup_s']:.2f}", f"{r['run_s']:.2f}", f"{r['agent_steps_per_s']:,.0f}",
                      f"{r['agent_steps_per_s_incl_setup']:,.0f}", f"{r['peak_rss_mb']:,.0f}",
                      f"{r['bytes_per_agent']:,.0f}",
                      f"{r['speedup_vs_reference']:,.1f}" if r.get("speedup_vs_reference") else "",
                      f"{r['speedup_vs_reference_incl_setup']:,.1f}" if r.get("speedup_vs_reference_incl_setup")
                      else ""))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt = "  ".join("{:>%d}" % w for w in widths)
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))] + [fmt.format(*row) for row in lines]
    if e2e:
        extra = ""
        if "n_agents" in e2e:
            extra = (f"; {e2e['n_agents']:,} people, {e2e['years']} years; in-process set-up "
                     f"{e2e['setup_s']} s, run {e2e['run_s']} s, total {e2e['total_in_process_s']} s")
        out.append("")
        out.append(f"end to end: `{e2e['command'].strip()}`: wall {e2e['wall_s']} s, peak RSS "
                   f"{e2e['peak_rss_mb']:,.0f} MB{extra}")
    return "\n".join(out)


def _engine(r: dict) -> str:
    if r["engine"] == "model":
        return "model (agents)" if r.get("materialize_agents") else "model"
    return "reference"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 10k people, small end-to-end run")
    ap.add_argument("--sizes", help="people simulated, comma-separated (e.g. 10k,100k,1M); default 10k,100k,1M")
    ap.add_argument("--years", type=int, default=35, help="simulated years (default 35)")
    ap.add_argument("--reference-max", default="100k", help="largest size run with the reference (default 100k)")
    ap.add_argument("--reference-sizes", help="sizes for the reference, overriding --reference-max")
    ap.add_argument("--reference-timeout", type=float, default=900, help="seconds before a reference run is stopped")
    ap.add_argument("--no-materialize", action="store_true", help="skip the model with materialize_agents=True")
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end `python -m sim` run")
    ap.add_argument("--e2e-args", help="overrides for the end-to-end run (default: none; --quick: scale=0.1)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per measurement; the fastest is reported (default 1)")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--out", type=Path, help="output JSON (default benchmarks/results/latest.json; --quick: quick.json)")
    ap.add_argument("--replications", type=int, metavar="N",
                    help="instead: N national-scale replications in one process (CareerModel(cfg), run, "
                         "metrics.summary and metrics.timeseries, as an ensemble does), their cost and where it goes")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.replications is not None:
        if args.replications < 1:
            print("error: --replications must be at least 1", file=sys.stderr)
            return 2
        return replication_cost(args.replications, args.years, args.seed, args.out)

    sys.path.insert(0, str(ROOT))
    from sim.cli import load_config

    started_machine = machine()  # before any measurement: the load average says how busy the machine was
    base = load_config([])
    o = base.origin
    sizes = [parse_size(s) for s in (args.sizes or ("10k" if args.quick else "10k,100k,1M")).split(",")]
    if args.reference_sizes:
        ref_sizes = [parse_size(s) for s in args.reference_sizes.split(",")]
    else:
        ref_sizes = [n for n in sizes if n <= parse_size(args.reference_max)]
    from sim.processes.life import burn_in_years

    burn_in = burn_in_years(base)
    per_intake = burn_in + args.years
    print(f"people simulated = intake x {per_intake} ({burn_in} spin-up cohorts + {args.years} "
          f"entry cohorts); national intake {o.intake_per_year:,}/year", flush=True)

    def spec(engine: str, n: int, materialize: bool = False) -> dict:
        intake = max(1, round(n / per_intake))
        return {"engine": engine, "target": n, "years": args.years, "scale": intake / o.intake_per_year,
                "seed": args.seed, "materialize_agents": materialize}

    rows = []
    for n in sorted(set(sizes) | set(ref_sizes)):
        plan = []
        if n in sizes:
            plan.append(("model", False, None))
            if not args.no_materialize:
                plan.append(("model", True, None))
        if n in ref_sizes:
            plan.append(("reference", False, args.reference_timeout))
        for engine, materialize, timeout in plan:
            s = spec(engine, n, materialize)
            print(f"- {label(n)} {engine}{' (materialize_agents=True)' if materialize else ''}: scale "
                  f"{s['scale']:.6g}, intake {round(s['scale'] * o.intake_per_year):,}/year ...", end=" ", flush=True)
            runs = [measure(s, timeout) for _ in range(args.repeat)]
            good = [r for r in runs if "error" not in r]
            if good:  # the fastest repeat (set-up + run); peak memory: the largest
                row = min(good, key=lambda r: r["setup_s"] + r["run_s"])
                row = {**row, "repeats": len(good), "peak_rss_mb": max(r["peak_rss_mb"] for r in good),
                       "run_s_all": [r["run_s"] for r in good], "setup_s_all": [r["setup_s"] for r in good]}
            else:
                row = runs[0]
            rows.append(row)
            if "error" in row:
                print(row["error"], flush=True)
            else:
                print(f"{row['n_agents']:,} people, {row['agent_steps']:,} agent-steps, set-up {row['setup_s']:.2f} s, "
                      f"run {row['run_s']:.2f} s, peak {row['peak_rss_mb']:,.0f} MB", flush=True)
    # model against the reference, size by size
    for n in sizes:
        ref = next((r for r in rows if r["engine"] == "reference" and r["target"] == n and "error" not in r), None)
        if ref is None:
            continue
        for r in rows:
            if r["engine"] == "model" and r["target"] == n and "error" not in r:
                r["speedup_vs_reference"] = round(r["agent_steps_per_s"] / ref["agent_steps_per_s"], 2)
                r["speedup_vs_reference_incl_setup"] = round(
                    r["agent_steps_per_s_incl_setup"] / ref["agent_steps_per_s_incl_setup"], 2)
    e2e = None
    if not args.no_e2e:
        overrides = (args.e2e_args or ("scale=0.1" if args.quick else "")).split()
        print(f"- end to end: python -m sim {' '.join(overrides)} ...", end=" ", flush=True)
        tries = [end_to_end(overrides, timeout=1800) for _ in range(args.repeat)]
        e2e = {**min(tries, key=lambda r: r["wall_s"]), "repeats": len(tries),
               "wall_s_all": [r["wall_s"] for r in tries], "peak_rss_mb": max(r["peak_rss_mb"] for r in tries)}
        print(f"wall {e2e['wall_s']} s, peak {e2e['peak_rss_mb']:,.0f} MB", flush=True)

    result = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "definitions": {
            "n_agents": "people simulated: spin-up cohorts plus all entrants (model.pop.n; reference: len(people))",
            "agent_steps": "sum over the reported years of the end-of-year stocks of every stage except exited",
            "agent_steps_per_s": "agent_steps / run_s (the reported years' steps only)",
            "agent_steps_per_s_incl_setup": "agent_steps / (setup_s + run_s); set-up draws everyone and runs the "
                                            "spin-up (both implementations), so this counts the spin-up's cost "
                                            "against the reported years' agent-steps",
            "warmup_s": "model only: a small run (scale 0.01, 25 years) in the same process before the "
                        "measurement, which loads the compiled decision loops from the on-disk cache (or "
                        "compiles them, the first time on a machine); a once-per-process cost, like imports, "
                        "that the end-to-end row includes",
            "setup_s": "constructing the model (CareerModel(cfg) or ReferenceModel(cfg)): drawing everyone and "
                       "the spin-up",
            "draw_s, spin_up_s": "model only: set-up split into drawing everyone and the spin-up years",
            "run_s": "model.run(): all simulated years",
            "summary_s": "computing the summary metrics afterwards",
            "peak_rss_mb": "peak resident set size of the child process that ran this measurement alone",
            "bytes_per_agent": "(peak RSS - RSS after imports) / n_agents",
            "speedup_vs_reference": "model agent_steps_per_s / reference agent_steps_per_s at the same size",
            "repeats": "child processes run for this measurement (--repeat); times are the fastest one's",
        },
        "machine": started_machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "rows": rows,
        "end_to_end": e2e,
    }
    out = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(rows, e2e))
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
