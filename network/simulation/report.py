"""The simulation's report: a table on the terminal, CSV files and PNG charts (matplotlib, Agg)."""

from __future__ import annotations

import csv
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from network.simulation.config import Money
from network.simulation.metrics import Interval, Metrics, interval, pooled_lead_minutes
from network.simulation.policies import BASELINES, DROPNET, HUB_POLICIES
from network.simulation.runner import RunResult

GOAL_VENDOR_PER_1000 = 0.5

FIGURES: dict[str, Callable[[Metrics, Money], float]] = {
    "cancellations_per_1000": lambda m, _: m.cancellations_per_1000,
    "vendor_cancellations_per_1000": lambda m, _: m.vendor_cancellations_per_1000,
    "lost_share_pct": lambda m, _: 100 * m.lost_share,
    "lost_units": lambda m, _: float(m.lost_units),
    "lost_sales_usd": lambda m, _: m.lost_sales,
    "monthly_cost_usd": lambda m, money: m.monthly_cost(money)["total"],
}


@dataclass(frozen=True)
class Verdict:
    met: bool
    vendor_per_1000: Interval
    lost_share_pct: Interval
    best_periodic: str | None
    best_periodic_lost_pct: float | None
    findings: tuple[str, ...]


def summarize(result: RunResult) -> dict[str, dict[str, Interval]]:
    """Mean and 95 % interval of every figure, per policy."""
    money = result.config.money
    return {
        name: {key: interval([fn(m, money) for m in runs]) for key, fn in FIGURES.items()}
        for name, runs in result.runs.items()
    }


def verdict(result: RunResult) -> Verdict | None:
    """Judge Dropnet against the issue's goal; None when Dropnet or every baseline is missing."""
    if DROPNET not in result.runs:
        return None
    summary = summarize(result)
    periodic = [name for name in result.runs if name in BASELINES]
    if not periodic:
        return None
    best = min(periodic, key=lambda name: summary[name]["lost_share_pct"].mean)
    dropnet = summary[DROPNET]
    vendor = dropnet["vendor_cancellations_per_1000"]
    lost = dropnet["lost_share_pct"]
    best_lost = summary[best]["lost_share_pct"].mean
    findings = []
    runs = result.runs[DROPNET]
    if vendor.mean >= GOAL_VENDOR_PER_1000:
        before = sum(m.vendor_cancelled_before_order for m in runs)
        after = sum(m.vendor_cancelled_after_order for m in runs)
        total = before + after or 1
        findings.append(
            f"vendor-caused cancellations {vendor.mean:.2f} per 1,000 (goal < {GOAL_VENDOR_PER_1000}): "
            f"{100 * before / total:.0f} % were orders for units the vendor had already sold elsewhere when "
            f"the hub took them (its count was older than the sale), {100 * after / total:.0f} % for units "
            "the vendor's other channels sold between the order and the vendor's import of the purchase order"
        )
    if lost.mean > best_lost:
        findings.append(f"lost sales {lost.mean:.3f} % of units asked, above {best} ({best_lost:.3f} %)")
    met = vendor.mean < GOAL_VENDOR_PER_1000 and lost.mean <= best_lost
    return Verdict(met, vendor, lost, best, best_lost, tuple(findings))


def _fmt(iv: Interval, digits: int = 2) -> str:
    if iv.n <= 1:
        return f"{iv.mean:,.{digits}f}"
    return f"{iv.mean:,.{digits}f} ±{iv.half_width:,.{digits}f}"


def table(result: RunResult) -> str:
    """The terminal table: one line per policy, means with 95 % half-widths over seeds."""
    summary = summarize(result)
    config = result.config
    first = next(iter(result.runs.values()))
    seeds = (
        ", ".join(map(str, result.seeds))
        if len(result.seeds) <= 5
        else f"{result.seeds[0]}…{result.seeds[-1]}"
    )
    lines = [
        f"Oversell simulation: {config.days} days, {len(result.seeds)} seed(s) ({seeds}); "
        f"{len(config.vendors)} vendors x {config.catalog.skus_per_vendor:,} SKUs, "
        f"{config.catalog.retailers} retailers x 3 channels; "
        f"{statistics.fmean(m.customer_orders for m in first):,.0f} customer orders per run",
        "",
    ]
    header = (
        "policy",
        "orders",
        "cancel/1000",
        "vendor/1000",
        "lost % units",
        "lost sales $",
        "$/month @seed",
    )
    rows = [header]
    for name, runs in result.runs.items():
        s = summary[name]
        rows.append(
            (
                name,
                f"{statistics.fmean(m.orders for m in runs):,.0f}",
                _fmt(s["cancellations_per_1000"]),
                _fmt(s["vendor_cancellations_per_1000"]),
                _fmt(s["lost_share_pct"], 3),
                _fmt(s["lost_sales_usd"], 0),
                _fmt(s["monthly_cost_usd"], 0),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for hub in (name for name in HUB_POLICIES if name in result.runs):
        runs = result.runs[hub]
        leads = pooled_lead_minutes(runs)
        refused = sum(m.vendor_refused_lines for m in runs)
        rerouted = sum(m.rerouted_lines for m in runs)
        label = "Dropnet" if hub == DROPNET else hub
        if leads:
            lines.append(
                f"\n{label} flags: median lead time {statistics.median(leads) / 60:.1f} h before the vendor's "
                f"refusal; {len(leads)} of {refused} refused lines flagged first; {rerouted} lines rerouted"
            )
        else:
            lines.append(f"\n{label} flags: none came before a vendor refusal ({refused} refused lines)")
    v = verdict(result)
    if v is not None:
        lines.append(
            f"\nGoal (vendor-caused < {GOAL_VENDOR_PER_1000} per 1,000 and lost sales no higher than the best "
            f"periodic sync, {v.best_periodic} at {v.best_periodic_lost_pct:.3f} %): {'MET' if v.met else 'MISSED'}"
        )
        lines += [f"  - {finding}" for finding in v.findings]
    lines.append(f"\nwall time {result.seconds:.0f} s")
    return "\n".join(lines)


def write_csv(result: RunResult, out: Path) -> list[Path]:
    """results.csv (one row per policy and seed) and summary.csv (means and 95 % intervals)."""
    out.mkdir(parents=True, exist_ok=True)
    money = result.config.money
    rows = [m.row(money) for runs in result.runs.values() for m in runs]
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    results_path = out / "results.csv"
    with results_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    summary_path = out / "summary.csv"
    with summary_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["policy", "figure", "mean", "ci95_low", "ci95_high", "seeds"])
        for name, figures in summarize(result).items():
            for key, iv in figures.items():
                writer.writerow([name, key, round(iv.mean, 4), round(iv.low, 4), round(iv.high, 4), iv.n])
    return [results_path, summary_path]


def write_charts(result: RunResult, out: Path) -> list[Path]:
    """cancellations.png, lost_sales.png and flag_lead_time.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(result)
    names = list(result.runs)
    seeds = f"{len(result.seeds)} seed(s), {result.config.days} days"
    paths = []

    def bars(
        key: str,
        title: str,
        ylabel: str,
        filename: str,
        part: tuple[str, str, str] | None = None,
        goal: tuple[float, str] | None = None,
    ) -> None:
        """One bar per policy with its 95 % interval; with `part` (key, label, label of the rest),
        that share stacked under the rest."""
        fig, ax = plt.subplots(figsize=(8, 4.5))
        means = [summary[n][key].mean for n in names]
        errors = [summary[n][key].half_width for n in names]
        if part is None:
            colors = ["#2a7ab9" if n == DROPNET else "#9aa5b1" for n in names]
            ax.bar(names, means, yerr=errors, capsize=4, color=colors)
        else:
            part_key, part_label, rest_label = part
            below = [summary[n][part_key].mean for n in names]
            ax.bar(names, below, color="#d9822b", label=part_label)
            rest = [total - share for total, share in zip(means, below, strict=True)]
            ax.bar(
                names,
                rest,
                bottom=below,
                yerr=errors,
                capsize=4,
                color="#9aa5b1",
                label=rest_label,
            )
        if goal is not None:
            ax.axhline(goal[0], color="#2a7ab9", linestyle="--", label=goal[1])
        if part is not None or goal is not None:
            ax.legend()
        ax.set_title(f"{title} ({seeds}; 95 % CI)")
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", rotation=15)
        fig.tight_layout()
        path = out / filename
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    bars(
        "cancellations_per_1000",
        "Cancellations per 1,000 orders",
        "per 1,000 orders",
        "cancellations.png",
        ("vendor_cancellations_per_1000", "vendor-caused", "channel: hub refused a marketplace order"),
        (GOAL_VENDOR_PER_1000, f"Dropnet's goal: vendor-caused under {GOAL_VENDOR_PER_1000}"),
    )
    bars(
        "lost_share_pct", "Lost sales: units asked while stock existed", "% of units asked", "lost_sales.png"
    )
    fig, ax = plt.subplots(figsize=(8, 4.5))
    leads = [lead / 60 for lead in pooled_lead_minutes(result.runs.get(DROPNET, []))]
    if leads:
        ax.hist(leads, bins=30, color="#2a7ab9")
        ax.axvline(
            statistics.median(leads), color="#d9822b", label=f"median {statistics.median(leads):.1f} h"
        )
        ax.legend()
        ax.set_xlabel("hours between the hub's flag and the vendor's cancellation")
        ax.set_ylabel("cancellations")
    else:
        ax.text(
            0.5,
            0.5,
            "no flag came before a vendor cancellation",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
    ax.set_title(f"Dropnet flag lead time ({seeds})")
    fig.tight_layout()
    path = out / "flag_lead_time.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
