#!/usr/bin/env python3
"""Writes `<target>/criterion/summary.html`: one self-contained page summing up the benchmarks.

Per criterion group it shows a table (benchmark, median, mean, p95, change against the previous
run, throughput where the bench declares one) and an inline SVG chart of median latency against
scale, one line per backend. The Python SDK results (`python_bench.json`, `python_load.json`,
`python_soak.json` in the target directory) get a section each when present.

The page works offline: no JavaScript, no external CSS or fonts; the charts are SVG written here.
Every chart is an `<svg class="chart" data-group="...">` so tests (and people) can find it.

Criterion 0.8 keeps, per benchmark, `<group>/<function>/<value>/new/{benchmark,estimates,sample}.json`
and, after the first run, `base/` with the baseline. By default criterion copies `new/` into
`base/` at the end of every run (so `base/` then equals `new/`), after writing its own comparison
with the previous run into `change/estimates.json`. The change column therefore uses
`new median / base median - 1` when `base/` holds a different run (`--save-baseline`/`--baseline`
workflows, or a copied tree), else criterion's `change/` when it was written by the latest run,
else nothing.

Usage (from the repository root): `python scripts/criterion_report.py [--target-dir DIR]`;
the target directory defaults to `$CARGO_TARGET_DIR`, else `target`.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

# The README's groups, in its order; groups found on disk but not listed here follow, sorted.
GROUPS: Tuple[str, ...] = (
    "build_memory_packet_events_scale",
    "build_memory_packet_candidate_scale",
    "store_ops_list_events",
    "store_ops_list_facts",
    "store_ops_list_episodes",
    "store_ops_list_insights",
    "store_ops_list_procedures",
    "store_ops_append_event",
    "store_ops_append_events_bulk",
    "store_ops_upsert_fact",
)
BACKENDS: Tuple[str, ...] = ("inmemory", "sqlite", "postgres", "mysql")
COLORS: Dict[str, str] = {
    "inmemory": "#1f77b4",
    "sqlite": "#2ca02c",
    "postgres": "#d62728",
    "mysql": "#ff7f0e",
}
EXTRA_COLORS: Tuple[str, ...] = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# Criterion's default noise threshold: smaller changes are shown as noise, not as regressions.
NOISE_THRESHOLD = 0.02
PYTHON_FILES: Tuple[str, ...] = ("python_bench.json", "python_load.json", "python_soak.json")
PYTHON_OPS: Tuple[str, ...] = ("append_event", "append_events", "upsert_fact", "list_events", "build_memory_packet")


# --- reading criterion's output ---------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """One criterion benchmark (group / backend / value) as the report shows it."""

    group: str
    backend: str
    value: str
    median_ns: float
    mean_ns: float
    p95_ns: Optional[float]
    change: Optional[float]
    change_source: str
    throughput: Optional[Tuple[str, float]]

    @property
    def scale(self) -> Optional[float]:
        """The numeric scale (`value_str`), or None when the value is not a positive number."""
        try:
            number = float(self.value)
        except ValueError:
            return None
        return number if number > 0 and math.isfinite(number) else None

    @property
    def name(self) -> str:
        return f"{self.backend}/{self.value}" if self.value else self.backend


def read_json(path: Path) -> Any:
    """The parsed file, or None when it is missing or unreadable (a half-written run)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def point_estimate(estimates: Any, statistic: str) -> Optional[float]:
    try:
        return float(estimates[statistic]["point_estimate"])
    except (KeyError, TypeError, ValueError):
        return None


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (criterion's and numpy's default definition)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def sample_p95(sample: Any) -> Optional[float]:
    """p95 of the per-iteration times of a `sample.json` (each sample: times[i] / iters[i])."""
    try:
        per_iteration = [float(t) / float(n) for n, t in zip(sample["iters"], sample["times"]) if float(n) > 0]
    except (KeyError, TypeError, ValueError):
        return None
    return percentile(per_iteration, 0.95) if per_iteration else None


def change_against_previous(bench_dir: Path, new_median: float) -> Tuple[Optional[float], str]:
    """The median's relative change against the previous run, and where it came from."""
    base_median = point_estimate(read_json(bench_dir / "base" / "estimates.json"), "median")
    if base_median is not None and base_median > 0 and base_median != new_median:
        return new_median / base_median - 1.0, "base"
    change_file = bench_dir / "change" / "estimates.json"
    new_file = bench_dir / "new" / "estimates.json"
    try:
        fresh = change_file.stat().st_mtime >= new_file.stat().st_mtime - 1.0
    except OSError:
        fresh = False
    criterion_change = point_estimate(read_json(change_file), "median") if fresh else None
    if criterion_change is not None:
        return criterion_change, "criterion"
    return None, ""


def parse_throughput(raw: Any) -> Optional[Tuple[str, float]]:
    """`{"Elements": 500}` -> ("elements", 500.0); byte throughputs -> ("bytes", n)."""
    if not isinstance(raw, dict):
        return None
    for key, unit in (("Elements", "elements"), ("Bytes", "bytes"), ("BytesDecimal", "bytes")):
        if isinstance(raw.get(key), (int, float)):
            return unit, float(raw[key])
    return None


def load_bench(bench_dir: Path) -> Optional[Bench]:
    """One benchmark from its directory, or None when `new/` is incomplete."""
    meta = read_json(bench_dir / "new" / "benchmark.json")
    estimates = read_json(bench_dir / "new" / "estimates.json")
    median = point_estimate(estimates, "median")
    mean = point_estimate(estimates, "mean")
    if not isinstance(meta, dict) or median is None or mean is None:
        return None
    change, source = change_against_previous(bench_dir, median)
    return Bench(
        group=str(meta.get("group_id") or bench_dir.parent.parent.name),
        backend=str(meta.get("function_id") or "-"),
        value=str(meta.get("value_str") or ""),
        median_ns=median,
        mean_ns=mean,
        p95_ns=sample_p95(read_json(bench_dir / "new" / "sample.json")),
        change=change,
        change_source=source,
        throughput=parse_throughput(meta.get("throughput")),
    )


def load_criterion(criterion_dir: Path) -> Dict[str, List[Bench]]:
    """Every benchmark under `criterion_dir`, by group, sorted by backend then scale."""
    groups: Dict[str, List[Bench]] = {}
    for meta_file in sorted(criterion_dir.glob("**/new/benchmark.json")):
        bench = load_bench(meta_file.parent.parent)
        if bench is None:
            print(f"warning: skipped incomplete benchmark {meta_file.parent.parent}", file=sys.stderr)
            continue
        groups.setdefault(bench.group, []).append(bench)
    for benches in groups.values():
        benches.sort(key=lambda b: (backend_rank(b.backend), b.scale if b.scale is not None else math.inf, b.value))
    return groups


def backend_rank(backend: str) -> Tuple[int, str]:
    return (BACKENDS.index(backend), "") if backend in BACKENDS else (len(BACKENDS), backend)


def ordered_groups(found: Iterable[str]) -> List[str]:
    names = set(found)
    return [g for g in GROUPS if g in names] + sorted(names - set(GROUPS))


def color_of(backend: str, others: List[str]) -> str:
    """A stable colour per backend; unknown backends take the extra palette in order of appearance."""
    if backend in COLORS:
        return COLORS[backend]
    if backend not in others:
        others.append(backend)
    return EXTRA_COLORS[others.index(backend) % len(EXTRA_COLORS)]


# --- formatting ---------------------------------------------------------------------------

TIME_UNITS: Tuple[Tuple[str, float], ...] = (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0))


def time_unit(ns: float) -> Tuple[str, float]:
    """The largest unit in which `ns` is at least 1 (ns for anything smaller)."""
    for unit, scale in TIME_UNITS:
        if abs(ns) >= scale:
            return unit, scale
    return "ns", 1.0


def format_ns(ns: Optional[float]) -> str:
    if ns is None:
        return "—"
    unit, scale = time_unit(ns)
    return f"{ns / scale:.4g} {unit}"


def format_change(change: Optional[float]) -> str:
    return "—" if change is None else f"{change * 100:+.2f}%"


def change_class(change: Optional[float]) -> str:
    """`worse`/`better` beyond criterion's noise threshold, `noise` within it."""
    if change is None:
        return "none"
    if change > NOISE_THRESHOLD:
        return "worse"
    if change < -NOISE_THRESHOLD:
        return "better"
    return "noise"


def format_number(value: float) -> str:
    """Compact: 1000 -> 1k, 2500000 -> 2.5M (axis labels and scales)."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def format_rate(per_second: float, unit: str) -> str:
    return f"{format_number(per_second)} {unit}/s"


def format_float(value: Any, digits: int = 3) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "—"
    return f"{value:.{digits}f}"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


# --- SVG charts ---------------------------------------------------------------------------

WIDTH, HEIGHT = 720, 340
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 44, 56


@dataclass
class Series:
    """One line of a chart: a name, a colour and (x, y, tooltip) points sorted by x."""

    name: str
    color: str
    points: List[Tuple[float, float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Axis:
    """Maps data values to pixels, on a linear or a log10 scale."""

    low: float
    high: float
    start: float
    end: float
    log: bool

    def __call__(self, value: float) -> float:
        if self.log:
            value, low, high = math.log10(value), math.log10(self.low), math.log10(self.high)
        else:
            low, high = self.low, self.high
        return self.start + (value - low) / (high - low) * (self.end - self.start)


def nice_step(span: float, count: int = 5) -> float:
    """A 1/2/2.5/5 x 10^k step giving about `count` ticks over `span`."""
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= multiple * magnitude * (1 + 1e-9):
            return multiple * magnitude
    return 10.0 * magnitude


def linear_domain(values: Sequence[float], from_zero: bool) -> Tuple[float, float, List[float]]:
    """A padded domain and its ticks; starting at zero for quantities (latency, throughput)."""
    low, high = (min(0.0, min(values)) if from_zero else min(values)), max(values)
    if high <= low:
        high = low + (abs(low) or 1.0)
    step = nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    ticks = [low + index * step for index in range(int(round((high - low) / step)) + 1)]
    return low, high, ticks


def log_domain(values: Sequence[float]) -> Tuple[float, float, List[float]]:
    """A log10 domain padded a little around the values, ticks at 1, 2 and 5 x 10^k."""
    low, high = min(values), max(values)
    if high <= low:
        low, high = low / math.sqrt(10), high * math.sqrt(10)
    pad = (math.log10(high) - math.log10(low)) * 0.06
    low, high = low / 10**pad, high * 10**pad
    ticks = [
        multiple * 10.0**exponent
        for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for multiple in (1.0, 2.0, 5.0)
        if low <= multiple * 10.0**exponent <= high
    ]
    if len(ticks) > 8:
        ticks = [tick for tick in ticks if math.isclose(math.log10(tick) % 1, 0, abs_tol=1e-9)]
    return low, high, ticks


def x_ticks_for(xs: Sequence[float], log: bool) -> Tuple[float, float, List[float]]:
    """The x domain: the data's own values as ticks when there are few of them (scales, levels)."""
    distinct = sorted(set(xs))
    if log:
        low, high, ticks = log_domain(distinct)
    else:
        low, high, ticks = linear_domain(distinct, from_zero=False)
        span = (high - low) or 1.0
        low, high = min(distinct) - span * 0.04, max(distinct) + span * 0.04
        ticks = [tick for tick in ticks if low <= tick <= high]
    if len(distinct) <= 8 and well_apart(distinct, low, high, log):
        ticks = distinct
    return low, high, ticks


def well_apart(values: Sequence[float], low: float, high: float, log: bool) -> bool:
    """Whether labels at these values would not overlap (gaps of at least 6% of the axis)."""
    position = (lambda v: math.log10(v)) if log else (lambda v: v)
    span = position(high) - position(low)
    return all(position(b) - position(a) >= 0.06 * span for a, b in zip(values, values[1:]))


def line_chart(
    group: str,
    title: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    x_log: bool,
    y_format: Callable[[float], str],
    x_format: Callable[[float], str] = format_number,
) -> str:
    """An inline SVG line chart: axes with ticks and labels, a legend, and per series one
    polyline plus a marker (with a tooltip) per point. The y axis turns logarithmic when the
    values span more than 20x, so a fast backend is not flattened against the axis."""
    points = [point for line in series for point in line.points]
    if not points:
        return (
            f'<svg class="chart empty" data-group="{esc(group)}" viewBox="0 0 {WIDTH} 60" width="{WIDTH}" '
            f'height="60" xmlns="http://www.w3.org/2000/svg" role="img"><text x="10" y="34">{esc(title)}: '
            "nothing to plot</text></svg>"
        )
    xs = [x for x, _, _ in points]
    ys = [y for _, y, _ in points]
    y_log = min(ys) > 0 and max(ys) / min(ys) > 20
    x_low, x_high, x_ticks = x_ticks_for(xs, x_log)
    y_low, y_high, y_ticks = log_domain(ys) if y_log else linear_domain(ys, from_zero=True)
    x_axis = Axis(x_low, x_high, LEFT, WIDTH - RIGHT, x_log)
    y_axis = Axis(y_low, y_high, HEIGHT - BOTTOM, TOP, y_log)
    parts = [
        f'<svg class="chart" data-group="{esc(group)}" data-x-scale="{"log" if x_log else "linear"}" '
        f'data-y-scale="{"log" if y_log else "linear"}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}" fill="#fafafa" stroke="#ccc"/>',
    ]
    parts += grid_and_ticks(x_axis, y_axis, x_ticks, y_ticks, x_format, y_format)
    parts += axis_labels(x_label + (" (log scale)" if x_log else ""), y_label + (" (log scale)" if y_log else ""))
    for line in series:
        parts.append(series_svg(line, x_axis, y_axis, y_format, x_format))
    parts.append(legend(series))
    parts.append("</svg>")
    return "\n".join(parts)


def grid_and_ticks(
    x_axis: Axis,
    y_axis: Axis,
    x_ticks: Sequence[float],
    y_ticks: Sequence[float],
    x_format: Callable[[float], str],
    y_format: Callable[[float], str],
) -> List[str]:
    parts = []
    for tick in x_ticks:
        x = x_axis(tick)
        parts.append(svg_line("grid", x, TOP, x, HEIGHT - BOTTOM, "#e4e4e4"))
        parts.append(
            f'<text class="tick x-tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11">{esc(x_format(tick))}</text>'
        )
    for tick in y_ticks:
        y = y_axis(tick)
        parts.append(svg_line("grid", LEFT, y, WIDTH - RIGHT, y, "#e4e4e4"))
        parts.append(
            f'<text class="tick y-tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{esc(y_format(tick))}</text>"
        )
    parts.append(svg_line("axis", LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM, "#333"))
    parts.append(svg_line("axis", LEFT, TOP, LEFT, HEIGHT - BOTTOM, "#333"))
    return parts


def svg_line(kind: str, x1: float, y1: float, x2: float, y2: float, stroke: str) -> str:
    return f'<line class="{kind}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"/>'


def axis_labels(x_label: str, y_label: str) -> List[str]:
    middle_x = (LEFT + WIDTH - RIGHT) / 2
    middle_y = (TOP + HEIGHT - BOTTOM) / 2
    return [
        f'<text class="axis-label x-label" x="{middle_x:.1f}" y="{HEIGHT - 14}" text-anchor="middle" '
        f'font-size="12">{esc(x_label)}</text>',
        f'<text class="axis-label y-label" x="16" y="{middle_y:.1f}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 16 {middle_y:.1f})">{esc(y_label)}</text>',
    ]


def series_svg(
    line: Series, x_axis: Axis, y_axis: Axis, y_format: Callable[[float], str], x_format: Callable[[float], str]
) -> str:
    coords = [(x_axis(x), y_axis(y), x, y, tip) for x, y, tip in line.points]
    polyline = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _, _ in coords)
    parts = [
        f'<g class="series" data-series="{esc(line.name)}">',
        f'<polyline class="line" data-series="{esc(line.name)}" points="{polyline}" fill="none" '
        f'stroke="{line.color}" stroke-width="2"/>',
    ]
    for px, py, x, y, tip in coords:
        label = tip or f"{line.name} @ {x_format(x)}: {y_format(y)}"
        parts.append(
            f'<circle class="point" data-series="{esc(line.name)}" cx="{px:.1f}" cy="{py:.1f}" r="4" '
            f'fill="{line.color}"><title>{esc(label)}</title></circle>'
        )
    parts.append("</g>")
    return "\n".join(parts)


def legend(series: Sequence[Series]) -> str:
    parts = ['<g class="legend">']
    x = float(LEFT)
    for line in series:
        parts.append(
            f'<g class="legend-item" data-series="{esc(line.name)}"><rect x="{x:.1f}" y="14" width="12" '
            f'height="12" fill="{line.color}"/><text x="{x + 16:.1f}" y="24" font-size="12">{esc(line.name)}</text></g>'
        )
        x += 28 + 7.5 * len(line.name)
    parts.append("</g>")
    return "\n".join(parts)


# --- criterion sections -------------------------------------------------------------------


def group_chart(group: str, benches: Sequence[Bench]) -> str:
    """Median latency against scale, one series per backend, in the group's best time unit."""
    plotted = [b for b in benches if b.scale is not None]
    unit, scale = time_unit(max((b.median_ns for b in plotted), default=1.0))
    others: List[str] = []
    series: Dict[str, Series] = {}
    for bench in plotted:
        line = series.setdefault(bench.backend, Series(bench.backend, color_of(bench.backend, others)))
        tip = f"{bench.name}: median {format_ns(bench.median_ns)}"
        line.points.append((float(bench.scale or 0), bench.median_ns / scale, tip))
    return line_chart(
        group,
        f"{group}: median latency against scale",
        list(series.values()),
        x_label="scale",
        y_label=f"median latency ({unit})",
        x_log=True,
        y_format=lambda value: f"{value:.3g}",
    )


def group_table(benches: Sequence[Bench]) -> str:
    with_throughput = any(b.throughput for b in benches)
    headers = ["benchmark", "backend", "scale", "median", "mean", "p95", "change vs previous"]
    if with_throughput:
        headers.append("throughput (median)")
    rows = []
    for bench in benches:
        source = {"base": "against base/estimates.json", "criterion": "criterion's change/estimates.json"}
        cells = [
            f'<td class="name">{esc(bench.name)}</td>',
            f'<td class="backend">{esc(bench.backend)}</td>',
            f'<td class="scale num">{esc(bench.value)}</td>',
            f'<td class="median num" data-ns="{bench.median_ns!r}">{format_ns(bench.median_ns)}</td>',
            f'<td class="mean num" data-ns="{bench.mean_ns!r}">{format_ns(bench.mean_ns)}</td>',
            f'<td class="p95 num" data-ns="{raw(bench.p95_ns)}">{format_ns(bench.p95_ns)}</td>',
            f'<td class="change num {change_class(bench.change)}" data-change="{raw(bench.change)}" '
            f'title="{esc(source.get(bench.change_source, "no previous run"))}">{format_change(bench.change)}</td>',
        ]
        if with_throughput:
            cells.append(f'<td class="throughput num">{throughput_text(bench)}</td>')
        rows.append(
            f'<tr data-backend="{esc(bench.backend)}" data-value="{esc(bench.value)}">' + "".join(cells) + "</tr>"
        )
    return table_html(headers, rows, "criterion")


def raw(value: Optional[float]) -> str:
    """The exact value for a data attribute (empty when there is none)."""
    return "" if value is None else repr(value)


def throughput_text(bench: Bench) -> str:
    if not bench.throughput or bench.median_ns <= 0:
        return "—"
    unit, count = bench.throughput
    return format_rate(count / (bench.median_ns / 1e9), unit)


def table_html(headers: Sequence[str], rows: Sequence[str], kind: str) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join(rows)
    return f'<table class="{esc(kind)}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def group_section(group: str, benches: Sequence[Bench]) -> str:
    unplotted = [b.name for b in benches if b.scale is None]
    note = (
        f'<p class="note">Not on the chart (no numeric scale): {esc(", ".join(unplotted))}</p>' if unplotted else ""
    )
    return (
        f'<section class="group" id="group-{esc(group)}" data-group="{esc(group)}">\n<h2>{esc(group)}</h2>\n'
        f"{group_chart(group, benches)}\n{note}\n{group_table(benches)}\n</section>"
    )


# --- Python SDK sections -------------------------------------------------------------------


def as_dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def number(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def run_header(data: Dict[str, Any]) -> str:
    """When and how the Python run was made, and which backends it skipped."""
    settings = as_dict(data.get("settings"))
    parts = [f"generated {esc(data.get('generated_at', '?'))}", f"engram {esc(data.get('engram_version', '?'))}"]
    parts += [f"{esc(k)}={esc(v)}" for k, v in sorted(settings.items()) if not isinstance(v, (dict, list))]
    text = f'<p class="note">{"; ".join(parts)}</p>'
    skipped = data.get("skipped")
    if isinstance(skipped, dict) and skipped:
        reasons = "; ".join(f"{esc(k)}: {esc(v)}" for k, v in sorted(skipped.items()))
        text += f'<p class="note">Skipped: {reasons}</p>'
    return text


def python_bench_section(data: Dict[str, Any]) -> str:
    rows = []
    results = [r for r in data.get("results", []) if isinstance(r, dict)]
    results.sort(key=lambda r: (backend_rank(str(r.get("backend"))), op_rank(str(r.get("op")))))
    for result in results:
        change = number(result.get("change_p50"))
        rows.append(
            f'<tr data-backend="{esc(result.get("backend"))}" data-op="{esc(result.get("op"))}">'
            f'<td>{esc(result.get("backend"))}</td><td>{esc(result.get("op"))}</td>'
            f'<td class="num">{esc(result.get("calls", "—"))}</td>'
            f'<td class="num">{format_float(result.get("p50_ms"))}</td>'
            f'<td class="num">{format_float(result.get("p95_ms"))}</td>'
            f'<td class="num">{format_float(result.get("p99_ms"))}</td>'
            f'<td class="num">{format_float(result.get("ops_per_s"), 1)}</td>'
            f'<td class="num">{format_float(result.get("items_per_s"), 1)}</td>'
            f'<td class="num {change_class(change)}">{format_change(change)}</td></tr>'
        )
    headers = ["backend", "op", "calls", "p50 (ms)", "p95 (ms)", "p99 (ms)", "ops/s", "items/s", "p50 vs previous"]
    return (
        '<section class="python" id="python-bench" data-section="python_bench">\n'
        "<h2>Python SDK: operations per backend (python_bench.json)</h2>\n"
        f"{run_header(data)}\n{table_html(headers, rows, 'python-bench')}\n</section>"
    )


def op_rank(op: str) -> int:
    return PYTHON_OPS.index(op) if op in PYTHON_OPS else len(PYTHON_OPS)


def python_load_section(data: Dict[str, Any]) -> str:
    runs = [r for r in data.get("runs", []) if isinstance(r, dict)]
    runs.sort(key=lambda r: (backend_rank(str(r.get("backend"))), number(r.get("concurrency")) or 0))
    rows = []
    others: List[str] = []
    series: Dict[str, Series] = {}
    for run in runs:
        backend = str(run.get("backend"))
        threads = number(run.get("concurrency"))
        throughput = number(run.get("ops_per_s"))
        if threads and throughput is not None:
            line = series.setdefault(backend, Series(backend, color_of(backend, others)))
            line.points.append((threads, throughput, f"{backend}, {threads:g} threads: {throughput:.1f} ops/s"))
        ops = as_dict(run.get("ops"))
        for op, stats in sorted(ops.items(), key=lambda item: op_rank(item[0])):
            if not isinstance(stats, dict):
                continue
            rows.append(
                f'<tr data-backend="{esc(backend)}" data-concurrency="{esc(run.get("concurrency"))}" '
                f'data-op="{esc(op)}">'
                f'<td>{esc(backend)}</td><td class="num">{esc(run.get("concurrency"))}</td>'
                f'<td class="num">{format_float(throughput, 1)}</td><td>{esc(op)}</td>'
                f'<td class="num">{esc(stats.get("count", "—"))}</td><td class="num">{esc(stats.get("errors", 0))}</td>'
                f'<td class="num">{format_float(stats.get("p50_ms"))}</td>'
                f'<td class="num">{format_float(stats.get("p95_ms"))}</td>'
                f'<td class="num">{format_float(stats.get("p99_ms"))}</td></tr>'
            )
    chart = line_chart(
        "python_load",
        "Python load test: total throughput against threads",
        list(series.values()),
        x_label="threads",
        y_label="total ops/s",
        x_log=True,
        y_format=format_number,
        x_format=lambda value: f"{value:g}",
    )
    headers = ["backend", "threads", "total ops/s", "op", "count", "errors", "p50 (ms)", "p95 (ms)", "p99 (ms)"]
    return (
        '<section class="python" id="python-load" data-section="python_load">\n'
        "<h2>Python SDK: load test (python_load.json)</h2>\n"
        f"{run_header(data)}\n{scaling_note(data)}\n{chart}\n{table_html(headers, rows, 'python-load')}\n</section>"
    )


def scaling_note(data: Dict[str, Any]) -> str:
    scaling = data.get("scaling")
    if not isinstance(scaling, dict) or not scaling:
        return ""
    parts = []
    for backend, entry in sorted(scaling.items(), key=lambda item: backend_rank(item[0])):
        base = as_dict(entry).get("base_level", 1)
        ratios = as_dict(as_dict(entry).get("ratios"))
        text = ", ".join(f"{esc(level)} vs {esc(base)} threads: {value:.2f}x" for level, value in ratios.items()
                         if number(value) is not None)
        if text:
            parts.append(f"{esc(backend)} ({text})")
    if not parts:
        return ""
    return f'<p class="note">Throughput against the lowest level: {"; ".join(parts)}</p>'


def python_soak_section(data: Dict[str, Any]) -> str:
    backends = [b for b in data.get("backends", []) if isinstance(b, dict)]
    others: List[str] = []
    rss_series: List[Series] = []
    ops_series: List[Series] = []
    rows = []
    for entry in backends:
        backend = str(entry.get("backend"))
        color = color_of(backend, others)
        rss, ops = Series(backend, color), Series(backend, color)
        for interval in entry.get("intervals", []):
            if not isinstance(interval, dict):
                continue
            elapsed = number(interval.get("elapsed_s"))
            rss_mib, rate = number(interval.get("rss_mib")), number(interval.get("ops_per_s"))
            if elapsed is not None and rss_mib is not None:
                rss.points.append((elapsed, rss_mib, f"{backend} at {elapsed:.0f} s: {rss_mib:.1f} MiB"))
            if elapsed is not None and rate is not None:
                ops.points.append((elapsed, rate, f"{backend} at {elapsed:.0f} s: {rate:.1f} ops/s"))
        rss_series.append(rss)
        ops_series.append(ops)
        flagged = entry.get("rss_growth_flagged") is True
        rows.append(
            f'<tr data-backend="{esc(backend)}" class="{"flagged" if flagged else ""}"><td>{esc(backend)}</td>'
            f'<td class="num">{len(entry.get("intervals", []))}</td>'
            f'<td class="num">{format_float(entry.get("ops_per_s"), 1)}</td>'
            f'<td class="num">{format_float(entry.get("p95_ms"))}</td>'
            f'<td class="num">{esc(entry.get("errors", 0))}</td>'
            f'<td class="num">{format_float(entry.get("rss_baseline_mib"), 1)}</td>'
            f'<td class="num">{format_float(entry.get("rss_final_mib"), 1)}</td>'
            f'<td class="num">{format_float(entry.get("rss_growth_mib"), 1)}</td>'
            f'<td class="num">{format_float(entry.get("rss_growth_pct"), 1)}</td>'
            f'<td>{"FLAGGED" if flagged else "ok"}</td></tr>'
        )
    flagged_any = data.get("rss_growth_flagged") is True
    banner = (
        '<p class="flag">RSS growth above the threshold after warm-up: see the flagged backends.</p>'
        if flagged_any
        else '<p class="note">No RSS growth above the threshold after warm-up.</p>'
    )
    headers = ["backend", "intervals", "ops/s", "p95 (ms)", "errors", "RSS after warm-up (MiB)", "RSS final (MiB)",
               "growth (MiB)", "growth (%)", "RSS check"]
    return (
        '<section class="python" id="python-soak" data-section="python_soak">\n'
        "<h2>Python SDK: soak test (python_soak.json)</h2>\n"
        f"{run_header(data)}\n{banner}\n"
        + line_chart("python_soak_rss", "Soak: process RSS over time", rss_series, "elapsed (s)", "RSS (MiB)",
                     x_log=False, y_format=lambda v: f"{v:.4g}", x_format=lambda v: f"{v:g}")
        + "\n"
        + line_chart("python_soak_ops", "Soak: throughput over time", ops_series, "elapsed (s)", "ops/s",
                     x_log=False, y_format=format_number, x_format=lambda v: f"{v:g}")
        + f"\n{table_html(headers, rows, 'python-soak')}\n</section>"
    )


PYTHON_SECTIONS: Dict[str, Callable[[Dict[str, Any]], str]] = {
    "python_bench.json": python_bench_section,
    "python_load.json": python_load_section,
    "python_soak.json": python_soak_section,
}


# --- the page -------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1000px;
       color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 36px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 10px 0 4px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; } th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.worse { color: #b00020; font-weight: 600; } .better { color: #1b7f2a; font-weight: 600; } .noise { color: #777; }
.note { color: #555; font-size: 13px; } .flag { color: #b00020; font-weight: 600; }
tr.flagged td { background: #fdecea; } nav a { margin-right: 10px; }
svg.chart { display: block; max-width: 100%; height: auto; }
"""


def render_page(target: Path, groups: Dict[str, List[Bench]], python: Dict[str, Dict[str, Any]]) -> str:
    names = ordered_groups(groups)
    missing = [g for g in GROUPS if g not in groups]
    nav = "".join(f'<a href="#group-{esc(g)}">{esc(g)}</a>' for g in names)
    nav += "".join(f'<a href="#{esc(key.replace("_", "-").removesuffix(".json"))}">{esc(key)}</a>' for key in python)
    body = [
        "<header><h1>engram benchmark summary</h1>",
        f'<p class="note">Generated {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")} from '
        f"<code>{esc(target)}</code>. Medians and means are criterion's estimates; p95 comes from the "
        "samples; the change compares the median with the previous run (green: faster, red: slower, "
        f"grey: within {NOISE_THRESHOLD:.0%}).</p>",
        f"<nav>{nav}</nav></header>",
    ]
    if not groups:
        body.append(f'<p class="note">No criterion results under <code>{esc(target / "criterion")}</code>: '
                    "run <code>cargo bench -p engram-store</code> first.</p>")
    elif missing:
        body.append(f'<p class="note">No results for: {esc(", ".join(missing))}.</p>')
    body += [group_section(g, groups[g]) for g in names]
    body += [PYTHON_SECTIONS[key](data) for key, data in python.items()]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>engram benchmark summary</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def load_python_results(target: Path) -> Dict[str, Dict[str, Any]]:
    """The Python result files present in the target directory (unreadable ones are reported)."""
    found: Dict[str, Dict[str, Any]] = {}
    for name in PYTHON_FILES:
        path = target / name
        if not path.exists():
            continue
        data = read_json(path)
        if isinstance(data, dict):
            found[name] = data
        else:
            print(f"warning: {path} is not a JSON object; left out", file=sys.stderr)
    return found


def default_target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or "target")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target-dir", type=Path, default=None,
                        help="cargo's target directory (default: $CARGO_TARGET_DIR, else ./target)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the page (default: <target>/criterion/summary.html)")
    args = parser.parse_args(argv)
    target: Path = args.target_dir or default_target_dir()
    groups = load_criterion(target / "criterion") if (target / "criterion").is_dir() else {}
    python = load_python_results(target)
    output: Path = args.output or target / "criterion" / "summary.html"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_page(target, groups, python), encoding="utf-8")
    benches = sum(len(b) for b in groups.values())
    print(f"{output}: {len(groups)} criterion groups, {benches} benchmarks"
          + (f"; python: {', '.join(python)}" if python else ""))
    for group in ordered_groups(groups):
        worst = max((b for b in groups[group] if b.change is not None), key=lambda b: b.change or 0.0, default=None)
        detail = f", largest change {worst.name} {format_change(worst.change)}" if worst else ""
        print(f"  {group}: {len(groups[group])} benchmarks{detail}")
    if not groups:
        print(f"  no criterion results under {target / 'criterion'} (run `cargo bench -p engram-store`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
