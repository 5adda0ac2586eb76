"""Assumption ranges: the same policies on worlds that differ from a base world in one parameter.

`hub simulate --vary outside_sales_ratio=0.2,1,5 --vary feed_cadence=0.25,4 ...` runs the base
world (the defaults or `--config`) and, one parameter at a time, a world with that parameter set
to each value; every point runs the same policies on the same seeds. Each point is an ordinary
run of its own configuration, so with `--out` its runs are kept under `runs/<its hash>/` like any
other, and the same command run again loads them (the sweep table is reproducible from the stored
runs). The table says, per point, what each policy costs a month at the seed's scale, which policy
is cheapest, and each hub policy's cost against the cheapest periodic sync.

A parameter is a dotted name of the configuration (`vendor_stock.outside_ratio`, `demand.spike_factor`,
`catalog.skus_per_vendor`, ...), one of the names below for the assumptions docs/simulation.md
lists, or a scale of every vendor's cadence (`vendors.feed_scale`, `vendors.po_batch_scale`: each
vendor's interval times the factor, at least a minute).
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from network.simulation.config import ConfigError, SimConfig
from network.simulation.runner import RunResult

# The assumptions of docs/simulation.md, by the names the issue uses.
ALIASES = {
    "outside_sales_ratio": "vendor_stock.outside_ratio",
    "feed_cadence": "vendors.feed_scale",
    "import_cadence": "vendors.po_batch_scale",
    "catalog_size": "catalog.skus_per_vendor",
    "popularity_tail": "demand.popularity_sigma",
    "spike_size": "demand.spike_factor",
}
VENDOR_SCALES = {
    "vendors.feed_scale": ("feed_minutes", "full_every_minutes"),
    "vendors.po_batch_scale": ("po_batch_minutes",),
}
BASE = "base"


@dataclass(frozen=True)
class Point:
    parameter: str  # the dotted name ("base" for the base world)
    value: str  # as given
    config: SimConfig


def parse_vary(texts: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Read `NAME=V1,V2,...` options. Raises ConfigError for one without a name or values."""
    parsed = []
    for text in texts:
        name, sep, values = text.partition("=")
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name.strip() or not items:
            raise ConfigError(
                f"--vary {text!r}: write NAME=VALUE,VALUE,... (e.g. outside_sales_ratio=0.2,1,5)"
            )
        parsed.append((ALIASES.get(name.strip(), name.strip()), items))
    return parsed


def with_value(config: SimConfig, parameter: str, text: str) -> SimConfig:
    """The configuration with one parameter set. Raises ConfigError for an unknown parameter or a
    value of the wrong kind or out of range."""
    if parameter in VENDOR_SCALES:
        factor = _number(parameter, text, float)
        if factor <= 0:
            raise ConfigError(f"{parameter} must be above 0")
        vendors = tuple(
            dataclasses.replace(
                spec,
                **{name: max(1, round(getattr(spec, name) * factor)) for name in VENDOR_SCALES[parameter]},
            )
            for spec in config.vendors
        )
        return dataclasses.replace(config, vendors=vendors).check()
    section, _, name = parameter.partition(".")
    if not name:
        if section not in {f.name for f in dataclasses.fields(config)} or section in ("vendors", "start"):
            raise ConfigError(f"cannot vary {parameter!r}")
        return dataclasses.replace(
            config, **{section: _convert(parameter, getattr(config, section), text)}
        ).check()
    part = getattr(config, section, None) if section not in ("vendors", "start") else None
    if not dataclasses.is_dataclass(part) or name not in {f.name for f in dataclasses.fields(part)}:
        raise ConfigError(
            f"cannot vary {parameter!r}: name a parameter such as vendor_stock.outside_ratio, or one of "
            f"{', '.join(sorted(ALIASES))}, vendors.feed_scale, vendors.po_batch_scale"
        )
    value = _convert(parameter, getattr(part, name), text)
    return dataclasses.replace(config, **{section: dataclasses.replace(part, **{name: value})}).check()


def _convert(parameter: str, current: object, text: str) -> object:
    if isinstance(current, bool):
        if text not in ("true", "false"):
            raise ConfigError(f"{parameter} must be true or false")
        return text == "true"
    if isinstance(current, int):
        return _number(parameter, text, int)
    if isinstance(current, float):
        return _number(parameter, text, float)
    raise ConfigError(f"cannot vary {parameter!r}: only numbers and true/false")


def _number(parameter: str, text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(
            f"{parameter}: {text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if value < 0:
        raise ConfigError(f"{parameter} must not be negative")
    return value


def points(base: SimConfig, vary: Sequence[tuple[str, list[str]]]) -> list[Point]:
    """The base world, then each parameter at each value (one at a time)."""
    found = [Point(BASE, "", base)]
    for parameter, values in vary:
        found += [Point(parameter, value, with_value(base, parameter, value)) for value in values]
    return found


def run_sweep(
    base: SimConfig, vary: Sequence[tuple[str, list[str]]], run_point: Callable[[SimConfig], RunResult]
) -> list[tuple[Point, RunResult]]:
    """Run every point (through `run_point`, which may load stored runs)."""
    return [(point, run_point(point.config)) for point in points(base, vary)]


def rows(results: Sequence[tuple[Point, RunResult]]) -> list[dict[str, object]]:
    """One record per point and policy: the point's figures and whether the policy was the cheapest."""
    from network.simulation.report import best_sync, summarize

    records = []
    for point, result in results:
        summary = summarize(result)
        costs = {name: s["monthly_cost_usd"].mean for name, s in summary.items()}
        cheapest = min(costs, key=costs.__getitem__)
        best = best_sync(result)
        for name, s in summary.items():
            records.append(
                {
                    "parameter": point.parameter,
                    "value": point.value,
                    "policy": name,
                    "seeds": len(result.seeds),
                    "orders": round(statistics.fmean(m.orders for m in result.runs[name])),
                    "cancellations_per_1000": round(s["cancellations_per_1000"].mean, 3),
                    "vendor_cancellations_per_1000": round(s["vendor_cancellations_per_1000"].mean, 3),
                    "spike_day_cancellations_per_1000": _mean(s, "spike_day_cancellations_per_1000"),
                    "ordinary_day_cancellations_per_1000": _mean(s, "ordinary_day_cancellations_per_1000"),
                    "lost_share_pct": round(s["lost_share_pct"].mean, 3),
                    "monthly_cost_usd": round(costs[name]),
                    "best_sync": best,
                    "cost_vs_best_sync": round(costs[name] / costs[best], 3)
                    if best and costs[best]
                    else None,
                    "cheapest": name == cheapest,
                }
            )
    return records


def _mean(summary: dict, key: str) -> float | None:
    return round(summary[key].mean, 3) if key in summary else None


def table(results: Sequence[tuple[Point, RunResult]]) -> str:
    """Where Dropnet wins and where not: each point's monthly cost per policy and the cheapest."""
    from network.simulation.policies import HUB_POLICIES

    records = rows(results)
    policies = list(dict.fromkeys(r["policy"] for r in records))
    hubs = [p for p in policies if p in HUB_POLICIES]
    header = (
        "parameter",
        "value",
        *(f"{p} $/mo" for p in policies),
        "cheapest",
        *(f"{h} x sync" for h in hubs),
        *(f"{h} cancel/1000" for h in hubs),
    )
    lines = [header]
    by_point: dict[tuple[str, str], dict[str, dict]] = {}
    for r in records:
        by_point.setdefault((str(r["parameter"]), str(r["value"])), {})[str(r["policy"])] = r
    for (parameter, value), per in by_point.items():
        cheapest = next(p for p, r in per.items() if r["cheapest"])
        lines.append(
            (
                parameter,
                value or "-",
                *(f"{per[p]['monthly_cost_usd']:,}" if p in per else "-" for p in policies),
                cheapest,
                *(
                    f"{per[h]['cost_vs_best_sync']:.2f}" if per.get(h, {}).get("cost_vs_best_sync") else "-"
                    for h in hubs
                ),
                *(f"{per[h]['cancellations_per_1000']:.2f}" if h in per else "-" for h in hubs),
            )
        )
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    first = results[0][1] if results else None
    intro = (
        f"Assumption ranges: {len(by_point)} worlds, one parameter away from the base each; "
        f"{len(first.seeds)} seed(s) from {first.seeds[0]}, {first.config.days} days per world; "
        "$/month at the seed's scale; 'x sync' = cost / the cheapest periodic sync's"
        if first
        else "Assumption ranges: no worlds"
    )
    out = [intro, ""]
    for row in lines:
        out.append(
            "  ".join(
                str(cell).ljust(w) if i < 2 else str(cell).rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(out)


def write_csv(results: Sequence[tuple[Point, RunResult]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    records = rows(results)
    path = out / "sweep.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]) if records else ["parameter"])
        writer.writeheader()
        writer.writerows(records)
    return path
