"""Validation on patterns never fitted: published figures other than the calibration targets.

::

    python -m sim.validation                       # writes docs/validation.md
    python -m sim.validation replications=40 scale=0.1 out=docs/validation.md

Each pattern names a published figure (by the evidence base's keys, docs/evidence.md, or a
citation), the model quantity that corresponds to it and the range in which the pattern
holds. The model runs ``replications`` replications of Japan under its calibrated posterior
(``params.uncertainty=posterior``; under its priors, ``sampled``, if it has no posterior)
and of the illustrative LMIC origin likewise (its posterior is fitted to one proxy target, the
match rate of all non-US-citizen IMGs, which no pattern here uses for that origin);
the table gives each quantity's median and central 90% interval over the replications and
whether the median lies in the pattern's range. Patterns comparing origins pair replication
``k`` of each. No pattern is used to fit anything.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

DOCS = Path("docs") / "validation.md"
COMMAND = "python -m sim.validation"


@dataclass(frozen=True)
class Pattern:
    """One validation pattern: ``value(runs)`` gives the model quantity per replication from
    the runs tables of each origin (``{"japan": frame, "lmic": frame}``); it holds when the
    median lies in [``low``, ``high``]."""

    key: str
    pattern: str
    source: str
    published: str
    quantity: str
    value: Callable[[dict[str, pd.DataFrame]], np.ndarray]
    low: float
    high: float
    why_if_missed: str


def _col(origin: str, column: str) -> Callable[[dict[str, pd.DataFrame]], np.ndarray]:
    return lambda runs: runs[origin][column].to_numpy(dtype=float)


def _ratio(origin: str, num: str, den: str) -> Callable[[dict[str, pd.DataFrame]], np.ndarray]:
    return lambda runs: runs[origin][num].to_numpy(dtype=float) / runs[origin][den].to_numpy(dtype=float)


def _diff(column: str, first: str, second: str) -> Callable[[dict[str, pd.DataFrame]], np.ndarray]:
    def value(runs):
        n = min(len(runs[first]), len(runs[second]))
        return runs[first][column].to_numpy(dtype=float)[:n] - runs[second][column].to_numpy(dtype=float)[:n]

    return value


INF = math.inf
PATTERNS = (
    Pattern("img_match_rate", "Japanese applicants match about as often as other non-US IMGs",
            "NRMP 2024 Main Residency Match Results and Data", "non-US-citizen IMG match rate 58.5%",
            "`match_rate` (Japan)", _col("japan", "match_rate"), 0.435, 0.735,
            "the world pool's size is set from this rate, but Japanese applicants' own rate comes from their "
            "scores, and the Morris screen's strongest factor for it is Japan's exam score offset "
            "(`origin.exam_score_offset`, an assumption), which puts them below the pool; the model also counts "
            "applications (a repeat applicant once a year, with a lower chance), where NRMP counts applicants "
            "in one Match. Not fitted, by design: a target for the score offset needs a published match rate "
            "of Japanese applicants"),
    Pattern("match_below_selected_fellows", "Applicants overall match less often than a selected research "
            "fellowship's IMGs", "ELECTIVES", "86% of GW Medical Research Fellowship IMGs matched since 2012",
            "`eventual_match_share` (Japan, within 4 rounds)", _col("japan", "eventual_match_share"), 0.0, 0.86,
            "a miss would mean the pathway is too easy: every applicant does as well as a selected group"),
    Pattern("electives_mostly_stay", "Most students who took an elective continued their careers at home",
            "SON2021", "most of 23 elective participants continued their careers in Japan",
            "`by_group.elective.yes.went_abroad_share` (Japan)", _col("japan", "by_group.elective.yes.went_abroad_share"),
            0.0, 0.5, "a miss would mean electives turn most participants into emigrants"),
    Pattern("destination_elective_pivotal", "An elective in the destination country makes training there more "
            "likely", "HEIST2018", "personal exposure to US clinical education was a pivotal experience before "
            "pursuing US residency", "ratio of `went_abroad_share`, destination elective / no elective (Japan)",
            _ratio("japan", "by_group.elective_place.destination.went_abroad_share",
                   "by_group.elective.no.went_abroad_share"), 1.0, INF,
            "a miss would mean the elective's effect on intention is too weak to show against selection"),
    Pattern("years_abroad_at_least_residency", "Those who go abroad stay at least one residency",
            "ACGME Program Requirements for Internal Medicine (2023): 36 months of residency",
            "the shortest common residency lasts 3 years", "`median_years_abroad` (Japan, Kaplan-Meier)",
            _col("japan", "median_years_abroad"), 3.0, INF,
            "a miss would mean returns before training ends (failed matches, visa loss) dominate"),
    Pattern("lmic_leave_more", "Graduates of a low/middle-income origin go abroad more than Japan's",
            "HEIST2018", "pay and cultures of emigration drive moves from low- to high-resource countries; they "
            "are weak drivers for Japanese IMGs", "difference in `went_abroad_share`, lmic - japan",
            _diff("went_abroad_share", "lmic", "japan"), 0.0, INF,
            "a miss would mean the income gap's pull is too weak against the LMIC's barriers (exams, cost, visas)"),
    Pattern("lmic_private_drift", "Returnees to a low/middle-income origin end up in private practice more",
            "NEWMAN2025", "disillusionment with state health systems drives returnees toward private practice",
            "difference in `returnee_share_private`, lmic - japan", _diff("returnee_share_private", "lmic", "japan"),
            0.0, INF, "a miss would mean the LMIC's disillusionment rate is too low for its sector mix"),
    Pattern("lmic_knowledge_wasted", "Returnees' knowledge transfer takes hold less often in a low/middle-income "
            "origin", "NEWMAN2025", "returnees' knowledge transfer is often a wasted opportunity",
            "difference in `knowledge_transfer_index`, lmic - japan",
            _diff("knowledge_transfer_index", "lmic", "japan"), -INF, 0.0,
            "a miss would mean the LMIC's absorption of returnees' knowledge is set too high"),
)


def _runs(origin: str, uncertainty: str, replications: int, scale: float, seed: int, workers: int) -> pd.DataFrame:
    from . import ensemble, tables
    from .compose import load_config

    cfg = load_config([f"origin={origin}", f"params.uncertainty={uncertainty}", f"scale={scale}", f"seed={seed}"])
    reps = ensemble.run_replications(ensemble.Plan(cfg, seed), replications, workers)
    return tables.runs_frame(reps, None, {})


def uncertainty_of(origin: str) -> str:
    from .posterior import posterior_path

    return "posterior" if posterior_path(origin).is_file() else "sampled"


def evaluate(replications: int, scale: float, seed: int, workers: int) -> tuple[list[dict], dict[str, str]]:
    """One row per pattern (model median, 5% and 95%, holds) and the mode each origin ran under."""
    modes = {"japan": uncertainty_of("japan"), "lmic": uncertainty_of("lmic")}
    runs = {o: _runs(o, m, replications, scale, seed, workers) for o, m in modes.items()}
    rows = []
    for p in PATTERNS:
        x = p.value(runs)
        x = x[np.isfinite(x)]
        if len(x):
            lo, med, hi = (float(v) for v in np.quantile(x, (0.05, 0.5, 0.95)))
        else:
            lo = med = hi = math.nan
        rows.append({"key": p.key, "median": med, "p5": lo, "p95": hi, "n": len(x),
                     "holds": bool(len(x)) and p.low <= med <= p.high})
    return rows, modes


def _range(p: Pattern) -> str:
    if p.high == INF:
        return f"> {p.low:g}" if p.low in (0.0, 1.0) else f">= {p.low:g}"
    if p.low == -INF:
        return f"< {p.high:g}"
    return f"[{p.low:g}, {p.high:g}]"


def _mode(origin: str, mode: str) -> str:
    if mode == "posterior":
        return f"`params.uncertainty=posterior` (its calibrated posterior, `configs/posterior/{origin}.parquet`)"
    return f"`params.uncertainty={mode}` (its priors: no posterior has been calibrated yet)"


def render(rows: list[dict], modes: dict[str, str], command: str) -> str:
    """The text of docs/validation.md."""
    by_key = {r["key"]: r for r in rows}
    held = sum(r["holds"] for r in rows)
    lines = [
        "# Validation on patterns never fitted",
        "",
        f"<!-- Generated by `{command}`; do not edit. -->",
        "",
        f"Generated by `{command}`. Published patterns that are not calibration targets of the origin "
        "they are checked on (`configs/targets/`) and were not used to fit any of its parameters. Japan runs "
        f"under {_mode('japan', modes['japan'])}; the illustrative LMIC origin under "
        f"{_mode('lmic', modes['lmic'])}. Model: median and central 90% interval over the replications "
        "(paired replications for differences between origins); a pattern holds when the median lies in its "
        "range.",
        "",
        f"{held} of {len(rows)} patterns hold.",
        "",
        "| pattern | source | published | model quantity | range | model median [90%] | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in PATTERNS:
        r = by_key[p.key]
        model = "no value" if math.isnan(r["median"]) else f"{r['median']:.3g} [{r['p5']:.3g}, {r['p95']:.3g}]"
        lines.append(f"| {p.pattern} | {p.source} | {p.published} | {p.quantity} | {_range(p)} | {model} | "
                     f"{'yes' if r['holds'] else 'NO'} |")
    missed = [p for p in PATTERNS if not by_key[p.key]["holds"]]
    lines += ["", "## Where the model misses", ""]
    if not missed:
        lines.append("Every pattern holds.")
    for p in missed:
        lines.append(f"- **{p.pattern}** ({p.key}): {p.why_if_missed}.")
    lines += ["", "Pattern keys, in order: " + ", ".join(f"`{p.key}`" for p in PATTERNS) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.validation key=value ...``: replications, scale, seed, jobs, out."""
    from . import outputs
    from .checks import UserError
    from .sensitivity import split_args, workers_for

    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    mine, rest, errors = split_args(argv, ("replications", "scale", "seed", "jobs", "out"))
    errors += [f"{a.split('=', 1)[0]}: unknown key; allowed: replications, scale, seed, jobs, out" for a in rest]
    opts = {"replications": 40, "scale": 0.1, "seed": 1, "jobs": 0}
    for key, cast, lo, hi in (("replications", int, 2, 10000), ("scale", float, 0.001, 1.0), ("seed", int, 0, 2**63 - 1),
                              ("jobs", int, 0, 1024)):
        if key in mine:
            try:
                v = cast(mine[key])
                assert lo <= v <= hi
                opts[key] = v
            except (ValueError, AssertionError):
                what = "an integer" if cast is int else "a number"
                errors.append(f"{key}: {mine[key]!r} is not allowed; expected {what} in [{lo}, {hi}]")
    if errors:
        for line in errors:
            print(f"error: {line}", file=sys.stderr)
        return 2
    out = Path(mine.get("out", DOCS))
    shown = [f"{k}={mine[k]}" for k in ("replications", "scale", "seed") if k in mine]
    command = " ".join([COMMAND, *shown])
    try:
        rows, modes = evaluate(opts["replications"], opts["scale"], opts["seed"], workers_for(opts["jobs"]))
    except UserError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    outputs.write_text(out, render(rows, modes, command))
    print(f"wrote {out} ({sum(r['holds'] for r in rows)} of {len(rows)} patterns hold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
