"""Plots of one run's time series (reads a DataFrame, writes a PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

HOME = ("students", "home_training", "home_practice")
MOBILE = ("preparing_abroad", "training_abroad", "practising_abroad", "returned_public", "returned_private",
          "returned_academic")


def _label(name: str) -> str:
    return name.replace("_", " ")


def plot_stocks(ts: pd.DataFrame, path: Path, title: str, scale: float) -> None:
    """Two panels: stocks at home, and the people on the pathway abroad or back."""
    unit = "people" if scale == 1 else f"people (simulated at scale {scale:g})"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for ax, names, sub in ((axes[0], HOME, "At home"), (axes[1], MOBILE, "Abroad and returned")):
        for name in names:
            ax.plot(ts["year"], ts[name], label=_label(name), lw=1.8)
        ax.set_xlabel("simulation year")
        ax.set_ylabel(f"stock at end of year ({unit})")
        ax.set_title(sub)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
        ax.set_xlim(ts["year"].min(), ts["year"].max())
        ax.set_ylim(bottom=0)
    fig.suptitle(title)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
