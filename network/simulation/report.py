"""The simulation's report: a table on the terminal, CSV files and PNG charts (matplotlib, Agg)."""

from __future__ import annotations

import csv
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from network.simulation.config import Money, SimConfig
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


def spike_day(config: SimConfig) -> int:
    """The world's spike day (1-based), or 0 when it has none within its days."""
    day = config.demand.spike_day
    return day if 0 < day <= config.days and config.demand.spike_products else 0


def run_figures(m: Metrics, config: SimConfig) -> dict[str, float | None]:
    """Every figure of one run (None: not recorded in that run, e.g. a run stored before issue 18)."""
    money = config.money
    figures: dict[str, float | None] = {key: fn(m, money) for key, fn in FIGURES.items()}
    day = spike_day(config)
    figures["spike_day_cancellations_per_1000"] = m.day_cancellations_per_1000(day) if day else None
    figures["ordinary_day_cancellations_per_1000"] = (
        m.ordinary_day_cancellations_per_1000(day) if day else None
    )
    share = m.flagged_first_share
    figures["flagged_first_pct"] = None if share is None else 100 * share
    for key, value in m.cost_split(money).items():
        figures[f"cost_{key}_usd"] = value
    return figures


def best_sync(result: RunResult) -> str | None:
    """The periodic baseline with the lowest mean monthly cost, or None if none ran."""
    money = result.config.money
    periodic = [name for name in result.runs if name in BASELINES]
    if not periodic:
        return None
    return min(
        periodic, key=lambda name: statistics.fmean(m.monthly_cost(money)["total"] for m in result.runs[name])
    )


def summarize(result: RunResult) -> dict[str, dict[str, Interval]]:
    """Mean and 95 % interval of every figure, per policy.

    Beyond FIGURES: the spike day's and the other days' cancellations per 1,000, the share of
    vendor refusals flagged first, the monthly cost split (`cost_cancellations_usd`,
    `cost_lost:<cause>_usd`; a cause a run did not have counts $0 in it) and
    `cost_vs_best_sync_per_seed`, each seed's monthly cost over the same seed's cost with the
    cheapest periodic sync (the table shows the ratio of the means, as the issue quotes it). A figure
    that no run recorded is left out.
    """
    config = result.config
    money = config.money
    best = best_sync(result)
    best_costs = [m.monthly_cost(money)["total"] for m in result.runs[best]] if best is not None else None
    summary: dict[str, dict[str, Interval]] = {}
    for name, runs in result.runs.items():
        per_run = [run_figures(m, config) for m in runs]
        keys: list[str] = []
        for figures in per_run:
            keys += [key for key in figures if key not in keys]
        out: dict[str, Interval] = {}
        for key in keys:
            if key.startswith("cost_"):
                values = [figures.get(key) or 0.0 for figures in per_run]
            else:
                values = [v for figures in per_run if (v := figures.get(key)) is not None]
            if values:
                out[key] = interval(values)
        if best_costs is not None:
            ratios = [
                m.monthly_cost(money)["total"] / base
                for m, base in zip(runs, best_costs, strict=True)
                if base
            ]
            if ratios:
                out["cost_vs_best_sync_per_seed"] = interval(ratios)
        summary[name] = out
    return summary


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


def _flagged_first(runs: list[Metrics]) -> str:
    """Vendor refusals the hub flagged before the vendor refused, pooled over seeds."""
    refused = sum(m.vendor_refused_lines for m in runs)
    flagged = sum(len(m.flag_lead_minutes) for m in runs)
    return f"{100 * flagged / refused:.0f} % of {refused}" if refused else "no refusals"


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
    best = best_sync(result)
    day = spike_day(config)
    best_cost = summary[best]["monthly_cost_usd"].mean if best else None
    header = (
        "policy",
        "orders",
        "cancel/1000",
        "vendor/1000",
        "lost % units",
        "lost sales $",
        "$/month @seed",
        f"x {best}" if best else "x best sync",
        f"day {day} cancel/1000" if day else "spike cancel/1000",
        "other days",
        "flagged first",
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
                f"{s['monthly_cost_usd'].mean / best_cost:.2f}" if best_cost else "-",
                _fmt(s["spike_day_cancellations_per_1000"])
                if "spike_day_cancellations_per_1000" in s
                else "-",
                _fmt(s["ordinary_day_cancellations_per_1000"])
                if "ordinary_day_cancellations_per_1000" in s
                else "-",
                _flagged_first(runs) if name in HUB_POLICIES else "-",
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
    if day:
        lines.append(
            f"\nSpike day {day} ({config.demand.spike_products} products x {config.demand.spike_factor:g} "
            "for 24 h): cancellations per 1,000 of the orders taken that day, against every other day; "
            "'-' for runs stored before the days were recorded."
        )
    lines.append("\nWhere each dollar goes ($/month at the seed's scale; lost sales by cause):")
    for name in result.runs:
        s = summary[name]
        parts = sorted(
            (
                (key[len("cost_") : -len("_usd")], iv.mean)
                for key, iv in s.items()
                if key.startswith("cost_") and key.endswith("_usd")
            ),
            key=lambda kv: (kv[0] != "cancellations", -kv[1]),
        )
        text = " + ".join(
            f"{label.removeprefix('lost:')} ${value:,.0f}" for label, value in parts if value >= 0.5
        )
        lines.append(f"  {name}: ${s['monthly_cost_usd'].mean:,.0f} = {text or '$0'}")
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
    day = spike_day(result.config)
    rows = [m.row(money, day) for runs in result.runs.values() for m in runs]
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
    """cancellations.png, lost_sales.png, cost_split.png, spike_day.png (when recorded) and flag_lead_time.png."""
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
    # Where each dollar goes: cancellations and lost sales by cause, stacked, per policy.
    causes: list[str] = []
    for n in names:
        causes += [k for k in summary[n] if k.startswith("cost_lost:") and k not in causes]
    fig, ax = plt.subplots(figsize=(9, 5))
    bottom = [0.0] * len(names)
    palette = [
        "#c0392b", "#2a7ab9", "#d9822b", "#7f8c8d", "#27ae60", "#8e44ad", "#f1c40f", "#16a085",
        "#e377c2", "#8c564b", "#17becf", "#bcbd22", "#1f3a5f", "#ff9896",
    ]  # fmt: skip
    for i, key in enumerate(["cost_cancellations_usd", *sorted(causes)]):
        values = [summary[n][key].mean if key in summary[n] else 0.0 for n in names]
        label = "cancellations" if key == "cost_cancellations_usd" else "lost: " + key[len("cost_lost:") : -4]
        ax.bar(names, values, bottom=bottom, color=palette[i % len(palette)], label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(f"Monthly cost at the seed's scale, by cause ({seeds})")
    ax.set_ylabel("$ per month")
    ax.tick_params(axis="x", rotation=15)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "cost_split.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    day = spike_day(result.config)
    if day and any("spike_day_cancellations_per_1000" in summary[n] for n in names):
        recorded = [n for n in names if "spike_day_cancellations_per_1000" in summary[n]]
        fig, ax = plt.subplots(figsize=(8, 4.5))
        xs = range(len(recorded))
        for offset, key, label, color in (
            (-0.2, "ordinary_day_cancellations_per_1000", "other days", "#9aa5b1"),
            (0.2, "spike_day_cancellations_per_1000", f"spike day ({day})", "#c0392b"),
        ):
            ax.bar(
                [x + offset for x in xs],
                [summary[n][key].mean for n in recorded],
                width=0.4,
                yerr=[summary[n][key].half_width for n in recorded],
                capsize=3,
                color=color,
                label=label,
            )
        ax.set_xticks(list(xs), recorded, rotation=15)
        ax.set_title(f"Cancellations per 1,000 of the day's orders ({seeds}; 95 % CI)")
        ax.set_ylabel("per 1,000 orders")
        ax.legend()
        fig.tight_layout()
        path = out / "spike_day.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
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
