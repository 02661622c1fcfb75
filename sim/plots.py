"""Figures of runs and scenarios, from the tables ``sim.outputs.read_runs`` and ``read_yearly``
return.

Every public figure function takes those DataFrames (a ``scenario`` column is added when
missing, see ``sim.compare``) and an optional matplotlib ``ax`` to draw into, and returns the
Figure. Importing this module leaves matplotlib's backend alone: figures are made with
``matplotlib.pyplot`` when the caller has imported it (so that ``plt.show()`` and notebooks
show them), and as plain ``matplotlib.figure.Figure`` objects otherwise (a headless report
needs no backend). Colours are the Okabe-Ito palette, distinguishable with the common
colour-vision deficiencies.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from . import compare
from .compare import SCENARIO

# Okabe & Ito (2008), "Color Universal Design": safe for protan, deutan and tritan vision
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

HOME = ("students", "home_training", "home_practice")
MOBILE = ("preparing_abroad", "training_abroad", "practising_abroad", "returned_public", "returned_private",
          "returned_academic")
# the yearly columns of the stocks-and-flows figure: (column, kind)
YEARLY = (("training_abroad", "stock"), ("practising_abroad", "stock"), ("returned_public", "stock"),
          ("returned_academic", "stock"), ("departures", "flow"), ("returns", "flow"),
          ("electives_started", "flow"), ("applications", "flow"), ("matches", "flow"))


def _label(name: str) -> str:
    return name.replace("_", " ")


def new_figure(**kwargs) -> Figure:
    """A Figure through pyplot if the caller uses pyplot, else a plain one (no backend)."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        return plt.figure(**kwargs)
    return Figure(**kwargs)


def close(fig: Figure) -> None:
    """Release a figure made by :func:`new_figure` (pyplot keeps its own until closed)."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close(fig)


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def dashes(i: int) -> str:
    """A line style per scenario, so that lines that coincide stay visible."""
    return ("-", "--", ":", "-.")[i % 4]


def _prepare(runs: pd.DataFrame | None, yearly: pd.DataFrame | None = None):
    if runs is None:
        raise ValueError("a runs table is needed (sim.outputs.read_runs)")
    return compare.add_scenarios(runs, yearly)


def _axes(ax, n: int, ncols: int, panel: tuple[float, float], what: str, labels: Sequence[str] = ()):
    """(figure, list of n axes): ``ax`` itself when given (n must then be 1), else a new grid.

    The grid's margins are set from the panel size and the longest y tick label (``labels``,
    shared by the panels of a row, shown on the first column only): matplotlib's automatic
    layouts measure every text and took half the time of a report.
    """
    if ax is not None:
        if n != 1:
            raise ValueError(f"ax: draws one {what}; got {n} (pass one, or no ax for a grid)")
        return ax.figure, [ax]
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    label_width = 0.065 * max((len(t) for t in labels), default=0)   # inches, at 8 points
    width, height = panel[0] * ncols + label_width, panel[1] * nrows + 0.5
    fig = new_figure(figsize=(width, height))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=bool(labels))
    fig.subplots_adjust(left=(0.75 + label_width) / width, right=1 - 0.25 / width, bottom=0.55 / height,
                        top=1 - 0.75 / height, wspace=0.12 if labels else 0.38, hspace=0.85 / (panel[1] - 0.85))
    axes = axes.ravel()
    for a in axes:
        a.xaxis.set_major_locator(MaxNLocator(nbins=5))
    for extra in axes[n:]:
        extra.set_visible(False)
    if labels:
        for i, a in enumerate(axes[:n]):
            if i % ncols:
                a.tick_params(labelleft=False)
    return fig, list(axes[:n])


def _unit(runs: pd.DataFrame | None, yearly: pd.DataFrame | None) -> str:
    table = yearly if yearly is not None else runs
    if table is None or "scale" not in table.columns:
        return "people"
    if table["scale"].nunique() > 1:
        return "people, simulated at each scenario's scale"
    scale = float(table["scale"].iloc[0])
    return "people" if scale == 1 else f"people, simulated at scale {scale:g}"


def _reps(table: pd.DataFrame, sc: str) -> int:
    part = table[table[SCENARIO] == sc]
    if "year" in part.columns:
        return int(len(part) // max(part["year"].nunique(), 1))
    return len(part)


def _legend_title(table: pd.DataFrame) -> str:
    return "; ".join(f"{sc} (n={_reps(table, sc)})" for sc in compare.scenarios(table))


# ---------------------------------------------------------------- one run's stocks (the run folder's PNG)

def plot_stocks(ts: pd.DataFrame, path: Path | None = None, title: str = "", scale: float = 1.0,
                ax=None) -> Figure:
    """Stocks of one run over time (``ts``: ``timeseries.parquet``): at home, and on the
    pathway abroad or back. Written to ``path`` (PNG) when given; returns the Figure."""
    unit = "people" if scale == 1 else f"people, simulated at scale {scale:g}"
    groups = ((HOME, "At home"), (MOBILE, "Abroad and returned"))
    if ax is not None:
        groups = ((HOME + MOBILE, title or "Stocks"),)
    fig, axes = _axes(ax, len(groups), 2, (6, 4.8), "panel")
    if ax is None:   # room for the widest y tick label (whole people, up to seven digits) and the y label
        digits = len(f"{float(np.nanmax(ts[[*HOME, *MOBILE]].to_numpy(float), initial=0)):.0f}")
        fig.subplots_adjust(left=(0.75 + 0.075 * digits) / fig.get_figwidth())
    first, last = ts["year"].min(), ts["year"].max()
    one_year = first == last  # one point per line: drawn as a marker, with half a year either side
    for a, (names, sub) in zip(axes, groups):
        for i, name in enumerate(names):
            a.plot(ts["year"], ts[name], label=_label(name), lw=1.8, color=colour(i), marker="o" if one_year else None)
        a.set_xlabel("year")
        a.set_ylabel(f"stock at end of year ({unit})")
        a.set_title(sub)
        a.grid(alpha=0.3)
        a.legend(fontsize=8, frameon=False)
        a.set_xlim(first - 0.5 * one_year, last + 0.5 * one_year)
        a.set_ylim(bottom=0)
    if ax is None and title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=110, format="png")
        close(fig)
    return fig


# ---------------------------------------------------------------- scenarios over the years

def plot_yearly(yearly: pd.DataFrame, columns: Sequence[str] | None = None, ax=None) -> Figure:
    """Yearly stocks and flows per scenario: median across replications with 50% and 90%
    bands, one panel per column of ``yearly`` (``read_yearly``), scenarios in colour.

    ``columns`` default to :data:`YEARLY` those the table holds; with ``ax``, give one column.
    """
    yearly, _ = compare.add_scenarios(yearly, yearly)
    columns = list(columns) if columns else [c for c, _ in YEARLY if c in yearly.columns]
    kinds = dict(YEARLY)
    bands = compare.yearly_bands(yearly, columns)
    fig, axes = _axes(ax, len(columns), 3, (4.2, 3.0), "column")
    unit = _unit(None, yearly)
    names = compare.scenarios(yearly)
    for a, col in zip(axes, columns):
        for i, sc in enumerate(names):
            b = bands[(bands[SCENARIO] == sc) & (bands["column"] == col)]
            c = colour(i)
            a.fill_between(b["year"], b["q05"], b["q95"], color=c, alpha=0.15, lw=0)
            a.fill_between(b["year"], b["q25"], b["q75"], color=c, alpha=0.3, lw=0)
            a.plot(b["year"], b["q50"], color=c, lw=1.8, ls=dashes(i), label=f"{sc} (n={_reps(yearly, sc)})")
        kind = kinds.get(col, "stock")
        a.set_title(f"{_label(col)} ({'during the year' if kind == 'flow' else 'at end of year'})", fontsize=9)
        a.set_xlabel("year", fontsize=8)
        a.set_ylabel(f"{'flow' if kind == 'flow' else 'stock'} ({unit})", fontsize=8)
        a.set_ylim(bottom=0)
        a.grid(alpha=0.3)
    axes[0].legend(fontsize=8, frameon=False, title="median, 50% and 90% bands", title_fontsize=8)
    if ax is None:
        fig.suptitle(f"Stocks and flows by year: {_legend_title(yearly)}")
    return fig


# ---------------------------------------------------------------- metric distributions

def plot_metrics(runs: pd.DataFrame, metrics: Sequence[str] | None = None, ax=None) -> Figure:
    """Each headline metric's distribution per scenario across replications: the median
    (dot), 50% interval (thick) and 90% interval (thin), and every replication (faint
    points). One panel per metric; with ``ax``, give one metric."""
    runs, _ = _prepare(runs)
    metrics = compare.headline_metrics(runs, metrics)
    table = compare.spread(runs, metrics)
    names = compare.scenarios(runs)
    ticks = [f"{sc} (n={_reps(runs, sc)})" for sc in reversed(names)]
    fig, axes = _axes(ax, len(metrics), 3, (3.6, 0.4 * len(names) + 1.5), "metric", ticks)
    rng = np.random.default_rng(0)  # jitter of the faint points only
    for a, m in zip(axes, metrics):
        for i, sc in enumerate(names):
            row = table[(table[SCENARIO] == sc) & (table["metric"] == m)].iloc[0]
            y = len(names) - 1 - i
            v = runs.loc[runs[SCENARIO] == sc, m].dropna().to_numpy(float)
            a.scatter(v, y + rng.uniform(-0.18, 0.18, len(v)), s=4, color=colour(i), alpha=0.25, lw=0)
            a.plot([row["low"], row["high"]], [y, y], color=colour(i), lw=1.2)
            a.plot([row["q25"], row["q75"]], [y, y], color=colour(i), lw=4, solid_capstyle="butt")
            a.plot(row["median"], y, "o", color="white", mec=colour(i), mew=1.5, ms=6)
        a.set_yticks(range(len(names)), ticks, fontsize=8)
        label, unit = compare.metric_label(m)
        a.set_title(label, fontsize=9)
        a.set_xlabel(unit, fontsize=8)
        a.set_ylabel("scenario")
        a.grid(alpha=0.3, axis="x")
    if ax is None:
        fig.suptitle(f"Metrics across replications (median, 50% and 90% intervals): {_legend_title(runs)}")
    return fig


# ---------------------------------------------------------------- differences against the baseline

def plot_differences(runs: pd.DataFrame, baseline: str = "baseline", metrics: Sequence[str] | None = None,
                     ax=None, table: pd.DataFrame | None = None) -> Figure:
    """Forest plot: each scenario minus ``baseline``, paired by replication seed (median and
    90% interval, filled) with the unpaired difference beside it (hollow, grey), one panel
    per metric; a dashed line at zero. ``table``: ``sim.compare.differences`` already taken.
    Raises ``ValueError`` for an unknown baseline."""
    runs, _ = _prepare(runs)
    metrics = compare.headline_metrics(runs, metrics)
    if table is None:
        table = compare.differences(runs, metrics, baseline)
    others = [sc for sc in compare.scenarios(runs) if sc != baseline]
    ticks = [f"{sc} (n={_reps(runs, sc)})" for sc in reversed(others)]
    fig, axes = _axes(ax, len(metrics), 3, (3.6, 0.5 * max(len(others), 1) + 1.5), "metric", ticks)
    for a, m in zip(axes, metrics):
        for i, sc in enumerate(others):
            row = table[(table[SCENARIO] == sc) & (table["metric"] == m)].iloc[0]
            y = len(others) - 1 - i
            c = colour(i + 1)
            a.plot([row["unpaired_low"], row["unpaired_high"]], [y - 0.2, y - 0.2], color="0.55", lw=1.2)
            a.plot(row["unpaired_median"], y - 0.2, "o", mfc="white", mec="0.45", ms=5,
                   label="unpaired" if i == 0 else None)
            a.plot([row["paired_low"], row["paired_high"]], [y + 0.1, y + 0.1], color=c, lw=2.2)
            a.plot(row["paired_median"], y + 0.1, "s", color=c, ms=6, label="paired by seed" if i == 0 else None)
        a.axvline(0, color="0.2", ls="--", lw=1)
        a.set_yticks(range(len(others)), ticks, fontsize=8)
        label, unit = compare.metric_label(m)
        a.set_title(label, fontsize=9)
        a.set_xlabel(f"difference ({unit})", fontsize=8)
        a.set_ylabel("scenario")
        a.set_ylim(-0.7, len(others) - 0.3)
        a.grid(alpha=0.3, axis="x")
    axes[0].legend(fontsize=7, frameon=False, loc="best")
    if ax is None:
        fig.suptitle(f"Difference to {baseline} (n={_reps(runs, baseline)}), median and 90% interval across "
                     f"replications")
    return fig


# ---------------------------------------------------------------- the career pathway

# every part of a split its own pattern (the colour is the scenario's), so that no two swatches match
_HATCH = {"research": "////", "destination": "xxx", "other_hic": "\\\\\\\\", "lmic": "...."}
_PART_LABEL = {"clinical": "clinical", "research": "research", "destination": "in the destination country",
               "other_hic": "other high-income", "lmic": "low/middle-income"}
_END = ("returned public", "returned private", "returned academic", "abroad", "other")
_END_LABEL = {"abroad": "still abroad", "other": "exited or other"}
_END_COLOUR = {"returned public": PALETTE[0], "returned private": PALETTE[1], "returned academic": PALETTE[2],
               "abroad": PALETTE[5], "other": "#BBBBBB"}


def plot_pathway(runs: pd.DataFrame, ax=None) -> Figure:
    """The career pathway of the graduates of the horizon, per 1,000 graduates (median across
    replications): international electives (split by type, and by place), intended to train
    abroad, applied, matched, trained abroad; scenarios side by side in their colours, the
    splits hatched. Beside it (without ``ax``), where those who trained abroad are at the end:
    back home by sector, still abroad, or other, as shares. With ``ax``, the funnel alone."""
    runs, _ = _prepare(runs)
    table = compare.pathway(runs)
    names = compare.scenarios(runs)
    stages = [st for st in dict.fromkeys(table["stage"]) if st not in ("graduates", "at the end")]
    legend_rows = -(-(len(_PART_LABEL) + len(names)) // 2)
    if ax is None:
        # inches: the bars, then below them the tick labels, the x label and the legends
        plot_h = max(0.28 * len(stages) * len(names) + 0.6, 0.45 * len(names) + 1.0, 2.6)
        below = 0.75 + 0.2 * max(legend_rows, 2) + 0.2
        height = plot_h + below + 0.75
        fig = new_figure(figsize=(12, height))
        ax, ax_end = fig.subplots(1, 2, width_ratios=(1.6, 1))
        fig.subplots_adjust(left=0.14, right=0.98, bottom=below / height, top=1 - 0.75 / height, wspace=0.55)
        fig.suptitle(f"Career pathway of the graduates: {_legend_title(runs)}", fontsize=10)
    else:
        ax_end = None
    fig = ax.figure
    bar = 0.8 / len(names)
    seen = set()
    for i, sc in enumerate(names):
        t = table[table[SCENARIO] == sc]
        for s_, stage in enumerate(stages):
            y = len(stages) - 1 - s_ + 0.4 - (i + 0.5) * bar
            left = 0.0
            for row in t[t["stage"] == stage].itertuples():
                v = 0.0 if np.isnan(row.per_1000) else row.per_1000
                hatch = _HATCH.get(row.part)
                label = None
                if row.part in _PART_LABEL and row.part not in seen:
                    label, _ = f"{stage.split()[-1]}: {_PART_LABEL[row.part]}", seen.add(row.part)
                ax.barh(y, v, left=left, height=bar * 0.9, color=colour(i), alpha=0.9 if hatch is None else 0.55,
                        hatch=hatch, edgecolor="white", lw=0.6)
                if label:
                    ax.barh(0, 0, color="0.45", alpha=0.9 if hatch is None else 0.55, hatch=hatch,
                            edgecolor="white", label=label)
                left += v
            ax.text(left, y, f" {left:.0f}", va="center", fontsize=7)
    for i, sc in enumerate(names):
        ax.barh(0, 0, color=colour(i), label=f"{sc} (n={_reps(runs, sc)})")
    ax.set_yticks(range(len(stages)), list(reversed(stages)))
    ax.set_xlabel("people per 1,000 graduates of the horizon (median across replications;\n"
                  "an elective's parts split that median by their shares pooled over replications)", fontsize=8)
    ax.set_ylabel("stage of the pathway")
    ax.set_xlim(right=ax.get_xlim()[1] * 1.1)
    if ax_end is not None:   # below the panel, clear of the bars and the x label
        ax.legend(fontsize=7, frameon=False, loc="upper center", ncols=2,
                  bbox_to_anchor=(0.5, -0.8 / ax.get_position().height / fig.get_figheight()))
    else:
        ax.legend(fontsize=7, frameon=False, loc="best")
    ax.grid(alpha=0.3, axis="x")
    if ax_end is None:
        ax.set_title(f"Career pathway: {_legend_title(runs)}", fontsize=9)
        return fig
    ax.set_title("From graduation to training abroad", fontsize=9)
    for i, sc in enumerate(names):
        t = table[(table[SCENARIO] == sc) & (table["stage"] == "at the end")].set_index("part")["per_1000"]
        total = t.sum()
        left = 0.0
        for part in _END:
            share = t.get(part, 0.0) / total if total > 0 else 0.0
            share = 0.0 if np.isnan(share) else share
            ax_end.barh(len(names) - 1 - i, share, left=left, color=_END_COLOUR[part], edgecolor="white",
                        label=_END_LABEL.get(part, part) if i == 0 else None)
            if share >= 0.06:
                ax_end.text(left + share / 2, len(names) - 1 - i, f"{share:.0%}", ha="center", va="center",
                            fontsize=7, color="black" if part in ("other", "abroad") else "white")
            left += share
    ax_end.set_yticks(range(len(names)), [f"{sc} (n={_reps(runs, sc)})" for sc in reversed(names)], fontsize=8)
    ax_end.set_xlim(0, 1)
    ax_end.set_xlabel("share of those who trained abroad")
    ax_end.set_ylabel("scenario")
    ax_end.set_title("Where those who trained abroad are at the end", fontsize=9)
    ax_end.set_ylim(-0.6, len(names) - 0.4)
    ax_end.legend(fontsize=7, frameon=False, loc="upper center", ncols=2,
                  bbox_to_anchor=(0.5, -0.8 / ax_end.get_position().height / fig.get_figheight()))
    return fig


# ---------------------------------------------------------------- return after training abroad

def plot_return_curve(runs: pd.DataFrame, ax=None) -> Figure:
    """Kaplan-Meier curves of the time from finishing training abroad to the return home, by
    scenario: the share still abroad of all replications pooled (step line), the 90% band
    of the replications' own curves, and censoring marked (``|``, where people were last
    seen abroad: at the end of the horizon or on leaving the model)."""
    runs, _ = _prepare(runs)
    curves = compare.return_curves(runs)
    if ax is None:
        fig = new_figure(figsize=(8, 5))
        ax = fig.subplots()
        fig.subplots_adjust(left=0.09, right=0.97, bottom=0.11, top=0.9)
    fig = ax.figure
    for i, sc in enumerate(compare.scenarios(runs)):
        c = curves[curves[SCENARIO] == sc]
        if c.empty or c["pooled"].isna().all():
            continue
        col = colour(i)
        # the value after year d's returns holds through year d (to d + 1): the last year is drawn
        # to its end, so that those censored in it are marked on the curve
        c = pd.concat([c, c.iloc[[-1]].assign(years=c["years"].iloc[-1] + 1)], ignore_index=True)
        ax.fill_between(c["years"], c["q05"], c["q95"], step="post", color=col, alpha=0.15, lw=0)
        ax.step(c["years"], c["pooled"], where="post", color=col, lw=1.8, ls=dashes(i),
                label=f"{sc} (n={int(c['n'].iloc[0])}; {int(c['at_risk'].iloc[0])} finished training in all)")
        cens = c.iloc[:-1][c["censored"].iloc[:-1] > 0]
        ax.plot(cens["years"] + 0.5, cens["pooled"], "|", color=col, ms=8, mew=1.2)
    ax.plot([], [], "|", color="0.3", ms=8, label="censored (last seen abroad)")
    ax.set_xlabel("years since finishing training abroad")
    ax.set_ylabel("share still abroad (Kaplan-Meier)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"Return home after training abroad\n{_legend_title(runs)}", fontsize=10)
    return fig


# ---------------------------------------------------------------- response to a swept parameter

def plot_response(runs: pd.DataFrame, parameter: str, metrics: Sequence[str] | None = None, ax=None) -> Figure:
    """Each metric against a swept numeric ``parameter`` (a column of ``runs``): median with
    50% and 90% bands across replications, one line per experiment. With ``ax``, give one
    metric. Raises ``KeyError`` for a parameter the table does not have."""
    if parameter not in runs.columns:
        raise KeyError(parameter)
    runs, _ = _prepare(runs)
    metrics = compare.headline_metrics(runs, metrics)
    fig, axes = _axes(ax, len(metrics), 3, (4.2, 3.0), "metric")
    groups = runs.groupby("experiment", sort=False) if "experiment" in runs.columns else [("all", runs)]
    for a, m in zip(axes, metrics):
        for i, (exp, g) in enumerate(groups):
            q = g.groupby(parameter)[m].quantile(list(compare.LEVELS)).unstack()
            n = g.groupby(parameter)[m].count()
            x = q.index.to_numpy(float)
            c = colour(i)
            a.fill_between(x, q[0.05], q[0.95], color=c, alpha=0.15, lw=0)
            a.fill_between(x, q[0.25], q[0.75], color=c, alpha=0.3, lw=0)
            a.plot(x, q[0.5], "o-", color=c, lw=1.8, ms=4, label=f"{exp} (n={int(n.min())}-{int(n.max())} per value)")
        label, unit = compare.metric_label(m)
        a.set_title(label, fontsize=9)
        a.set_xlabel(_label(parameter).replace(".", ": ") + " (as set)", fontsize=8)
        a.set_ylabel(unit, fontsize=8)
        a.grid(alpha=0.3)
    axes[0].legend(fontsize=8, frameon=False, title="median, 50% and 90% bands", title_fontsize=8)
    if ax is None:
        fig.suptitle(f"Response to {parameter}")
    return fig
