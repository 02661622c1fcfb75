"""``python -m sim.report PATH [PATH ...]``: the comparison of scenarios as one self-contained
HTML page, with the tables behind it.

PATH is a run folder, a sweep root, or several of them (their runs are put together; see
``sim.compare`` for what a scenario is). Written into PATH (with several, into ``--out``):
``report.html`` (every figure embedded as a PNG data URI; no link to a file or the network)
and the tables ``report_metrics.csv``, ``report_differences.csv``, ``report_pathway.csv``,
``report_return_curve.csv``, ``report_subgroups.csv`` (``report_yearly.csv`` too). Every file
is written under a temporary name and renamed into place once all are ready, so a failure
leaves nothing half-written. ``--figures DIR`` also writes each figure as a PNG into DIR.

Bad input (a missing folder, a folder without runs, an unknown baseline or metric, folders
whose runs differ in ``years`` or ``scale``, an ``--out`` folder holding files that are not
this product's) gives one ``error:`` line and exit code 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import compare, outputs
from .compare import SCENARIO

REPORT_FILES = outputs.REPORT_FILES   # run folders know these as files of their own
REPORT_HTML, *TABLES = REPORT_FILES
SUBGROUP_METRICS = ("graduates_total", "elective_share_cohort", "intention_share", "went_abroad_share",
                    "return_share_10y")


class ReportError(ValueError):
    """A user's mistake: one line, naming what is wrong."""


# ---------------------------------------------------------------- reading

def _read_one(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if not path.exists():
        raise ReportError(f"{path}: no such folder; expected a run folder or a sweep folder")
    if not path.is_dir():
        raise ReportError(f"{path}: not a folder; expected a run folder or a sweep folder")
    if not (outputs.is_sweep_root(path) or outputs.is_complete(path)):
        raise ReportError(f"{path}: no runs here (neither a complete run folder, with COMPLETE, nor a sweep "
                          f"folder, with {outputs.SWEEP_FILE})")
    try:
        runs = outputs.read_runs(path)
    except (outputs.IncompleteRunError, OSError) as exc:
        raise ReportError(str(exc).splitlines()[0]) from None
    if runs.empty:
        raise ReportError(f"{path}: no runs here (its runs table is empty)")
    try:
        yearly = outputs.read_yearly(path)
    except (outputs.IncompleteRunError, OSError):
        yearly = None
    return runs, yearly


def load(paths: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The runs and yearly tables of ``paths`` with a ``scenario`` column. Tables of several
    folders are stacked with a ``source`` column (the folder's name); a scenario label found
    in two folders is told apart by that name. Raises :class:`ReportError` for bad input."""
    loaded = [(Path(p), *_read_one(Path(p))) for p in paths]
    check_same_settings([(p, r) for p, r, _ in loaded])
    if len(loaded) == 1:
        _, runs, yearly = loaded[0]
        return compare.add_scenarios(runs, yearly)
    labelled = []
    for path, runs, yearly in loaded:
        runs, yearly = compare.add_scenarios(runs, yearly)
        for t in (runs, yearly):
            if t is not None:
                t.insert(0, "source", path.name or str(path))
        labelled.append((path, runs, yearly))
    seen: dict[str, int] = {}
    for _, runs, _ in labelled:
        for sc in compare.scenarios(runs):
            seen[sc] = seen.get(sc, 0) + 1
    for path, runs, yearly in labelled:
        for t in (runs, yearly):
            if t is not None:
                dup = t[SCENARIO].map(seen) > 1
                t.loc[dup, SCENARIO] = t.loc[dup, SCENARIO] + " [" + t.loc[dup, "source"] + "]"
    runs = pd.concat([r for _, r, _ in labelled], ignore_index=True)
    yearlies = [y for _, _, y in labelled]
    yearly = pd.concat(yearlies, ignore_index=True) if all(y is not None for y in yearlies) else None
    return runs, yearly


SETTINGS = ("years", "scale")   # runs that differ in these are not the same model: never paired


def _settings(path: Path, runs: pd.DataFrame) -> dict[str, tuple]:
    """The values of :data:`SETTINGS` among the runs of ``path``: the runs table's column
    when the setting was set on the command line, else each run's ``run.json``."""
    import json

    found: dict[str, set] = {k: set() for k in SETTINGS}
    for k in SETTINGS:
        if k in runs.columns:
            found[k].update(runs[k].dropna().tolist())
    missing = [k for k in SETTINGS if not found[k]]
    if missing:
        for f in [path / "run.json", *path.glob("*/run.json"), *path.glob("*/*/run.json")]:
            try:
                record = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            for k in missing:
                if record.get(k) is not None:
                    found[k].add(record[k])
    return {k: tuple(sorted(v)) for k, v in found.items() if v}


def check_same_settings(folders: Sequence[tuple[Path, pd.DataFrame]]) -> None:
    """Raise :class:`ReportError` naming the first of :data:`SETTINGS` whose values differ
    between folders (a 35-year national run against a 5-year sample: their seeds are not the
    same chance events and their metrics not the same quantities)."""
    values = [(path, _settings(path, runs)) for path, runs in folders]
    differ = [k for k in SETTINGS if len({v[k] for _, v in values if k in v}) > 1]
    if differ:
        each = "; ".join(f"{path}: " + ", ".join(
            f"{k}={'/'.join(f'{x:g}' for x in v[k]) if k in v else 'unknown'}" for k in differ) for path, v in values)
        what = " and ".join(differ)
        raise ReportError(f"the folders differ in {what} ({each}); compare runs with the same {what} "
                          "(rerun one of them with the other's values)")


def check_out(out: Path) -> None:
    """Raise :class:`ReportError` unless ``out`` is missing, empty, or holds only this
    product's outputs (a run folder, a sweep folder, or an earlier report): the report never
    overwrites a file that is not its own (``outputs.foreign_entries``)."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out: {out} is a file, not a folder")
    foreign = outputs.foreign_entries(out, sweep=outputs.is_sweep_root(out) if out.is_dir() else False)
    if foreign:
        names = ", ".join(sorted(p.name for p in foreign)[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ReportError(f"--out: {out} holds files that are not this product's ({names}); give a new or empty "
                          "folder, a run or sweep folder, or one with only an earlier report")


FIGURE_NAMES = ("yearly", "metrics", "differences", "pathway", "return_curve", "response")


def check_figures(folder: Path) -> None:
    """Raise :class:`ReportError` unless ``folder`` (``--figures``) is missing, empty, or holds
    only the PNGs a report writes there (``<figure>.png``, see :data:`FIGURE_NAMES`): its
    PNGs replace those, never a file of the user's."""
    if folder.exists() and not folder.is_dir():
        raise ReportError(f"--figures: {folder} is a file, not a folder")
    ours = {f"{name}.png" for name in FIGURE_NAMES}
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in ours) if folder.is_dir() else []
    if foreign:
        names = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ReportError(f"--figures: {folder} holds files that are not a report's figures ({names}); give a new "
                          f"or empty folder, or one with only {', '.join(sorted(ours))}")


# ---------------------------------------------------------------- building

@dataclass
class Report:
    """Everything the page shows: tables (DataFrames) and figures (name -> (title, PNG bytes))."""
    paths: list[Path]
    baseline: str | None
    baseline_note: str
    scenarios: list[str]
    replications: dict[str, int]
    metrics: list[str]
    parameter: str | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def choose_baseline(names: list[str], baseline: str | None) -> tuple[str | None, str]:
    """(baseline scenario, a note on how it was chosen). ``baseline`` given: it must be a
    scenario (:class:`ReportError` otherwise). Not given: ``baseline`` if it is a scenario,
    else the first scenario; None with a single scenario."""
    if baseline is not None:
        if baseline not in names:
            raise ReportError(f"--baseline: no scenario {baseline!r}; scenarios here: {', '.join(names)}")
        return baseline, f"baseline: {baseline} (as asked)"
    if len(names) < 2:
        return None, "one scenario: no comparison"
    if "baseline" in names:
        return "baseline", "baseline: the scenario named baseline"
    return names[0], f"baseline: {names[0]}, the first scenario (no scenario is named baseline; choose with --baseline)"


def _png(fig) -> bytes:
    from . import plots

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plots.close(fig)
    return buf.getvalue()


def _subgroups(runs: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in runs.columns if c.startswith("by_group.") and c.rsplit(".", 1)[1] in SUBGROUP_METRICS]
    rows = []
    for sc, g in runs.groupby(SCENARIO, sort=False):
        for c in cols:
            _, grouping, level, metric = c.split(".")
            v = g[c].to_numpy(float)
            v = v[~np.isnan(v)]
            rows.append({SCENARIO: sc, "grouping": grouping, "level": level, "metric": metric, "n": len(v),
                         "median": float(np.median(v)) if len(v) else math.nan})
    if not rows:
        return pd.DataFrame(columns=[SCENARIO, "grouping", "level", "metric", "n", "median"])
    t = pd.DataFrame(rows)
    return t.pivot_table(index=[SCENARIO, "grouping", "level"], columns="metric", values="median",
                         sort=False).reset_index()


def build(paths: Sequence[Path], baseline: str | None = None, metrics: Sequence[str] | None = None,
          parameter: str | None = None) -> Report:
    """Read ``paths`` and compute every table and figure of the report (nothing is written).
    Raises :class:`ReportError` for bad input."""
    from . import plots

    runs, yearly = load(paths)
    names = compare.scenarios(runs)
    base, note = choose_baseline(names, baseline)
    try:
        metrics = compare.headline_metrics(runs, metrics)
    except KeyError as exc:
        raise ReportError(f"--metrics: {exc.args[0]!r} is not a column of the runs table; headline metrics: "
                          f"{', '.join(compare.HEADLINE)}") from None
    if not metrics:
        raise ReportError(f"{paths[0]}: the runs table has none of the headline metrics ({', '.join(compare.HEADLINE)})")
    keys = compare.key_columns(yearly, runs)
    if parameter is not None:
        if parameter not in runs.columns or not pd.api.types.is_numeric_dtype(runs[parameter]):
            raise ReportError(f"--parameter: {parameter!r} is not a numeric key of these runs; keys: "
                              f"{', '.join(keys) or 'none'}")
    else:
        parameter = compare.numeric_parameter(runs, keys)
    reps = runs.groupby(SCENARIO, sort=False).size().to_dict()
    rep = Report(list(map(Path, paths)), base, note, names, {k: int(v) for k, v in reps.items()}, metrics, parameter)
    rep.tables["report_metrics.csv"] = compare.spread(runs, metrics)
    if base is not None:
        rep.tables["report_differences.csv"] = compare.differences(runs, metrics, base)
    rep.tables["report_pathway.csv"] = compare.pathway(runs)
    rep.tables["report_return_curve.csv"] = compare.return_curves(runs)
    rep.tables["report_subgroups.csv"] = _subgroups(runs)

    figs = rep.figures
    if yearly is not None:
        stocks = [c for c, _ in plots.YEARLY if c in yearly.columns]
        rep.tables["report_yearly.csv"] = compare.yearly_bands(yearly, stocks)
        figs["yearly"] = ("Stocks and flows by year", _png(plots.plot_yearly(yearly, stocks)))
    figs["metrics"] = ("Headline metrics across replications", _png(plots.plot_metrics(runs, metrics)))
    if base is not None:
        figs["differences"] = (f"Differences to {base}", _png(plots.plot_differences(
            runs, base, metrics, table=rep.tables["report_differences.csv"])))
    figs["pathway"] = ("Career pathway", _png(plots.plot_pathway(runs)))
    if not rep.tables["report_return_curve.csv"].empty:
        figs["return_curve"] = ("Return after training abroad", _png(plots.plot_return_curve(runs)))
    if parameter is not None:
        figs["response"] = (f"Response to {parameter}", _png(plots.plot_response(runs, parameter, metrics)))
    return rep


# ---------------------------------------------------------------- the page

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1250px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}
th,td{border-bottom:1px solid #ddd;padding:0.25em 0.6em;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}img{max-width:100%;height:auto;border:1px solid #eee}.note{color:#555;font-size:0.9em}
li.clear{color:#0b5d1e}li.unclear{color:#7a4b00}"""


def _num(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else f"{v:.4g}"
    return html.escape(str(v))


def _html_table(df: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    columns = list(columns or df.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_num(r[c])}</td>" for c in columns) + "</tr>"
                   for _, r in df.iterrows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(rep: Report, name: str) -> str:
    if name not in rep.figures:
        return ""
    title, png = rep.figures[name]
    data = base64.b64encode(png).decode("ascii")
    return f'<h3>{html.escape(title)}</h3><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def render(rep: Report) -> str:
    """The report as one HTML document (figures inline as data URIs)."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Scenario report</title>"
             f"<style>{_CSS}</style></head><body><h1>Scenario report</h1>"]
    parts.append("<p class='note'>From " + ", ".join(e(str(p)) for p in rep.paths) +
                 f"; written {e(time.strftime('%Y-%m-%d %H:%M'))}. {e(rep.baseline_note)}.</p>")
    parts.append("<h2>Scenarios</h2><ul>" + "".join(
        f"<li>{e(sc)}: {compare.plural(rep.replications[sc], 'replication')}</li>"
        for sc in rep.scenarios) + "</ul>")
    parts.append("<p class='note'>A scenario is one configuration (the experiment and the values set for the "
                 "job) run with different replication seeds. Intervals are the 5th to 95th percentiles across "
                 "replications. Differences to the baseline are taken between replications with the same seed "
                 "(common random numbers: both share their chance events), beside the unpaired difference "
                 "(every replication against every replication of the baseline).</p>")
    diffs = rep.tables.get("report_differences.csv")
    if diffs is not None and len(diffs):
        parts.append("<h2>Verdicts</h2><ul>" + "".join(
            f"<li class='{'unclear' if r.spans_zero or r.too_few else 'clear'}'>{e(r.verdict)}</li>"
            for r in diffs.itertuples()) + "</ul>")
        parts.append(_figure(rep, "differences"))
        parts.append("<h3>Differences to the baseline (table)</h3>" + _html_table(diffs, [
            SCENARIO, "metric", "n", "paired_median", "paired_low", "paired_high", "unpaired_median",
            "unpaired_low", "unpaired_high", "paired_mean", "paired_mean_low", "paired_mean_high"]))
    parts.append("<h2>Metrics by scenario</h2>" + _figure(rep, "metrics") +
                 _html_table(rep.tables["report_metrics.csv"], [SCENARIO, "metric", "n", "median", "low", "high"]))
    parts.append("<h2>Over the years</h2>" + _figure(rep, "yearly"))
    parts.append("<h2>Career pathway</h2>" + _figure(rep, "pathway") +
                 _html_table(rep.tables["report_pathway.csv"]))
    parts.append("<h2>Return after training abroad</h2>" + _figure(rep, "return_curve"))
    if rep.parameter:
        parts.append(f"<h2>Response to {e(rep.parameter)}</h2>" + _figure(rep, "response"))
    sub = rep.tables["report_subgroups.csv"]
    if len(sub):
        parts.append("<h2>Subgroups (medians across replications)</h2>" + _html_table(sub))
    parts.append("<p class='note'>Tables behind this page: " + ", ".join(e(t) for t in rep.tables) + ".</p>")
    parts.append("</body></html>\n")
    return "".join(parts)


# ---------------------------------------------------------------- writing

def write(rep: Report, out: Path, figures: Path | None = None) -> list[Path]:
    """Write the page and tables into ``out`` (and PNGs into ``figures``): everything to
    temporary names first, then renamed into place. Returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []

    def stage(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        staged.append((tmp, path))

    try:
        stage(out / REPORT_HTML, render(rep).encode("utf-8"))
        for name, table in rep.tables.items():
            stage(out / name, table.to_csv(index=False).encode("utf-8"))
        if figures is not None:
            figures.mkdir(parents=True, exist_ok=True)
            for name, (_, png) in rep.figures.items():
                stage(figures / f"{name}.png", png)
        for name in TABLES:  # a table this report does not have is not left from an earlier one
            if name not in rep.tables:
                (out / name).unlink(missing_ok=True)
        with outputs.signals_held():
            for tmp, path in staged:
                os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return [path for _, path in staged]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a run folder or sweep folder")
    parser.add_argument("--baseline", help="the scenario to compare against (default: the one named baseline, "
                                           "else the first)")
    parser.add_argument("--metrics", help="comma-separated metrics (columns of runs.parquet); default: headline")
    parser.add_argument("--parameter", help="the numeric key of a response curve (default: the one swept, if any)")
    parser.add_argument("--out", type=Path, help="where to write (default: PATH; required with several PATHs)")
    parser.add_argument("--figures", type=Path, help="also write every figure as a PNG into this folder")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        if args.out is None and len(args.paths) > 1:
            raise ReportError("--out: required with several folders (where to write the report)")
        out = args.out or args.paths[0]
        check_out(out)
        if args.figures is not None:
            check_figures(args.figures)
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
        rep = build(args.paths, args.baseline, metrics, args.parameter)
        written = write(rep, out, args.figures)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {written[0]} ({compare.plural(len(rep.scenarios), 'scenario')}, "
          f"{compare.plural(sum(rep.replications.values()), 'replication')}; "
          f"{compare.plural(len(written) - 1, 'more file')}) in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
