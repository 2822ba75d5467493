"""scripts/criterion_report.py: the numbers of its tables, and its charts as a browser draws them.

A fake criterion 0.8 tree (several groups, several backends, three scales, with and without a
previous run) goes through the script; the tables are checked against values computed here, and
the page is opened in headless Chromium, which reports what it parsed and laid out for every chart.
Without a `chromium` binary the browser test is skipped, or fails when ENGRAM_REQUIRE_CHROMIUM=1.
"""

from __future__ import annotations

import html
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from conftest import chromium

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "criterion_report.py"
SCALES = (1_000, 10_000, 100_000)
UNITS = {"ns": 1.0, "µs": 1e3, "ms": 1e6, "s": 1e9}


@dataclass(frozen=True)
class FakeBench:
    group: str
    backend: str
    scale: int
    median_ns: float
    base_median_ns: Optional[float] = None  # a previous run kept in base/ (a different run)
    criterion_change: Optional[float] = None  # criterion's layout: base/ == new/, change/ written
    throughput: Optional[int] = None

    @property
    def mean_ns(self) -> float:
        return self.median_ns * 1.07

    def per_iteration(self) -> List[float]:
        """Per-sample times spread around the median, with a slow tail (so p95 is not the max)."""
        return [self.median_ns * (0.8 + 0.4 * index / 29) * (1.6 if index % 11 == 5 else 1.0) for index in range(30)]

    def p95(self) -> float:
        # statistics' "inclusive" quantiles are linear interpolation between closest ranks.
        return statistics.quantiles(self.per_iteration(), n=100, method="inclusive")[94]

    def change(self) -> Optional[float]:
        if self.base_median_ns is not None:
            return self.median_ns / self.base_median_ns - 1
        return self.criterion_change


Report = Tuple[Path, List[FakeBench]]


def fake_benches() -> List[FakeBench]:
    benches = []
    for backend_index, backend in enumerate(("inmemory", "sqlite", "postgres")):
        for scale_index, scale in enumerate(SCALES):
            median = 40_000.0 * (1 + backend_index * 3) * (1 + 0.25 * scale_index)
            benches.append(FakeBench("build_memory_packet_events_scale", backend, scale, median,
                                     base_median_ns=median * 0.9 if scale_index != 1 else None))
            if backend != "postgres":
                benches.append(FakeBench("store_ops_list_events", backend, scale, median / 40))
                benches.append(FakeBench("store_ops_append_events_bulk", backend, scale, median * 900,
                                         criterion_change=-0.125 if scale_index == 0 else None, throughput=500))
    # A backend with a single scale: its line is one point.
    benches.append(FakeBench("store_ops_list_events", "mysql", 10_000, 2_000_000.0, base_median_ns=2_500_000.0))
    return benches


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def estimates(median: float, mean: float) -> Dict[str, Any]:
    def estimate(value: float) -> Dict[str, Any]:
        return {"confidence_interval": {"confidence_level": 0.95, "lower_bound": value * 0.99,
                                        "upper_bound": value * 1.01}, "point_estimate": value, "standard_error": 1.0}
    return {"mean": estimate(mean), "median": estimate(median), "median_abs_dev": estimate(median / 50),
            "slope": estimate(mean), "std_dev": estimate(median / 20)}


def write_run(directory: Path, bench: FakeBench, median: float) -> None:
    """One run's files as criterion 0.8 writes them (sample: iters and total times per sample)."""
    iters = [float(3 * (index + 1)) for index in range(30)]
    write_json(directory / "benchmark.json", {
        "group_id": bench.group, "function_id": bench.backend, "value_str": str(bench.scale),
        "throughput": {"Elements": bench.throughput} if bench.throughput else None,
        "full_id": f"{bench.group}/{bench.backend}/{bench.scale}",
        "directory_name": f"{bench.group}/{bench.backend}/{bench.scale}",
        "title": f"{bench.group}/{bench.backend}/{bench.scale}"})
    write_json(directory / "estimates.json", estimates(median, median * 1.07))
    write_json(directory / "sample.json", {"sampling_mode": "Linear", "iters": iters,
                                           "times": [t * n for t, n in zip(bench.per_iteration(), iters)]})


def write_tree(target: Path, benches: List[FakeBench]) -> None:
    for bench in benches:
        root = target / "criterion" / bench.group / bench.backend / str(bench.scale)
        write_run(root / "new", bench, bench.median_ns)
        if bench.base_median_ns is not None:
            write_run(root / "base", bench, bench.base_median_ns)
        elif bench.criterion_change is not None:
            write_run(root / "base", bench, bench.median_ns)  # criterion copies new/ to base/
            time.sleep(0.01)
            write_json(root / "change" / "estimates.json", {
                "mean": {"point_estimate": bench.criterion_change + 0.01},
                "median": {"point_estimate": bench.criterion_change}})


def python_results(target: Path) -> None:
    """Small results of the three Python scripts, so their sections and charts are drawn too."""
    write_json(target / "python_bench.json", {"kind": "engram_python_bench", "generated_at": "now", "settings": {},
                                             "results": [{"backend": "sqlite", "op": "append_event", "calls": 10,
                                                          "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0,
                                                          "ops_per_s": 900.0, "items_per_s": 900.0,
                                                          "change_p50": 0.5}]})
    runs: List[Dict[str, Any]] = [
        {"backend": backend, "concurrency": level, "ops_per_s": 100.0 * level * (1 + index), "ops": {}}
        for index, backend in enumerate(("inmemory", "sqlite")) for level in (1, 2, 4)
    ]
    write_json(target / "python_load.json", {"kind": "engram_python_load", "runs": runs,
                                            "scaling": {"sqlite": {"base_level": 1, "ratios": {"2": 2.0}}}})
    intervals = [{"index": i, "elapsed_s": 10.0 * (i + 1), "ops_per_s": 50.0 + i, "rss_mib": 80.0 + i}
                 for i in range(5)]
    write_json(target / "python_soak.json", {"kind": "engram_python_soak", "rss_growth_flagged": False,
                                            "backends": [{"backend": "sqlite", "intervals": intervals}]})


def run_report(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                            env=env, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    target = tmp_path_factory.mktemp("target")
    benches = fake_benches()
    write_tree(target, benches)
    python_results(target)
    run_report("--target-dir", str(target))
    page = target / "criterion" / "summary.html"
    assert page.is_file()
    return page, benches


# --- the tables ------------------------------------------------------------------------------


class TableRows(HTMLParser):
    """The criterion table rows of the page: (group, backend, value) -> cell class -> (attrs, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.group = ""
        self.row: Optional[Tuple[str, str, str]] = None
        self.cell: Optional[Tuple[str, Dict[str, Optional[str]]]] = None
        self.text = ""
        self.rows: Dict[Tuple[str, str, str], Dict[str, Tuple[Dict[str, Optional[str]], str]]] = {}
        self.in_criterion_table = False

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self.group = found.get("data-group") or ""
        elif tag == "table":
            self.in_criterion_table = found.get("class") == "criterion"
        elif tag == "tr" and self.in_criterion_table and "data-backend" in found:
            self.row = (self.group, found["data-backend"] or "", found.get("data-value") or "")
            self.rows[self.row] = {}
        elif tag == "td" and self.row:
            self.cell, self.text = ((found.get("class") or "").split()[0], found), ""

    def handle_data(self, data: str) -> None:
        if self.cell:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell and self.row:
            self.rows[self.row][self.cell[0]] = (self.cell[1], self.text.strip())
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag == "table":
            self.in_criterion_table = False


def table_rows(page: Path) -> Dict[Tuple[str, str, str], Dict[str, Tuple[Dict[str, Optional[str]], str]]]:
    parser = TableRows()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.rows


def shown_ns(text: str) -> float:
    """'1.234 ms' -> 1234000.0"""
    value, unit = text.split()
    return float(value) * UNITS[unit]


def test_the_tables_show_median_and_mean_from_estimates_and_p95_from_samples(report: Report) -> None:
    page, benches = report
    rows = table_rows(page)
    assert len(rows) == len(benches)
    for bench in benches:
        cells = rows[(bench.group, bench.backend, str(bench.scale))]
        for column, expected in (("median", bench.median_ns), ("mean", bench.mean_ns), ("p95", bench.p95())):
            attrs, text = cells[column]
            assert float(attrs["data-ns"] or "nan") == pytest.approx(expected, rel=1e-12), (bench, column)
            assert shown_ns(text) == pytest.approx(expected, rel=1e-3), (bench, column, text)


def test_the_change_column_compares_with_the_previous_run(report: Report) -> None:
    page, benches = report
    rows = table_rows(page)
    for bench in benches:
        attrs, text = rows[(bench.group, bench.backend, str(bench.scale))]["change"]
        expected = bench.change()
        if expected is None:
            assert (attrs["data-change"], text) == ("", "—"), bench
        else:
            assert float(attrs["data-change"] or "nan") == pytest.approx(expected, rel=1e-12), bench
            assert float(text.rstrip("%")) == pytest.approx(expected * 100, abs=0.006), (bench, text)
    changes = {bench.change() for bench in benches}
    assert -0.125 in changes and None in changes and any(c and c > 0.1 for c in changes)  # every kind was covered


def test_throughput_is_shown_for_groups_that_declare_it(report: Report) -> None:
    page, benches = report
    rows = table_rows(page)
    bench = next(b for b in benches if b.throughput)
    _, text = rows[(bench.group, bench.backend, str(bench.scale))]["throughput"]
    per_second = 500 / (bench.median_ns / 1e9)
    number, unit = re.fullmatch(r"([\d.]+)([kMG]?) elements/s", text).groups()  # type: ignore[union-attr]
    assert float(number) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[unit] == pytest.approx(per_second, rel=5e-3)


def test_the_page_is_self_contained(report: Report) -> None:
    text = report[0].read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    for section in ("python-bench", "python-load", "python-soak"):
        assert f'id="{section}"' in text


def test_the_target_dir_comes_from_cargo_target_dir(tmp_path: Path) -> None:
    write_tree(tmp_path, [FakeBench("store_ops_upsert_fact", "sqlite", 1000, 5000.0)])
    run_report(env=dict(os.environ, CARGO_TARGET_DIR=str(tmp_path)))
    assert 'data-group="store_ops_upsert_fact"' in (tmp_path / "criterion" / "summary.html").read_text(encoding="utf-8")


def test_an_empty_target_still_gets_a_page(tmp_path: Path) -> None:
    result = run_report("--target-dir", str(tmp_path))
    assert "no criterion results" in result.stdout
    assert "No criterion results" in (tmp_path / "criterion" / "summary.html").read_text(encoding="utf-8")


# --- the charts, in a browser -----------------------------------------------------------------

# Added to a copy of the page only: the page itself has no script. Chromium parses and lays out
# the SVG; this reads back what it made of every chart (points parsed, boxes, legend).
PROBE = """<script>
const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
  const viewBox = svg.viewBox.baseVal;
  return {
    group: svg.getAttribute('data-group'),
    width: svg.getBoundingClientRect().width,
    viewBox: [viewBox.x, viewBox.y, viewBox.width, viewBox.height],
    legend: [...svg.querySelectorAll('.legend-item')].map(item => item.getAttribute('data-series')),
    lines: [...svg.querySelectorAll('polyline')].map(line => {
      const box = line.getBBox();
      return {series: line.getAttribute('data-series'), points: line.points.numberOfItems,
              attribute: line.getAttribute('points'), box: [box.x, box.y, box.width, box.height]};
    }),
    markers: [...svg.querySelectorAll('circle')].map(circle => ({
      series: circle.getAttribute('data-series'), x: circle.cx.baseVal.value, y: circle.cy.baseVal.value})),
  };
});
const probe = document.createElement('pre');
probe.id = 'probe';
probe.textContent = JSON.stringify(charts);
document.body.appendChild(probe);
</script>"""


def charts_in_browser(page: Path, scratch: Path) -> List[Dict[str, Any]]:
    browser = chromium("check the report's charts")
    probed = scratch / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    result = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={scratch / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, flags=re.S)
    assert match, f"chromium did not render the page (exit {result.returncode}): {result.stderr[-2000:]}"
    charts: List[Dict[str, Any]] = json.loads(html.unescape(match.group(1)))
    return charts


def test_every_group_has_one_chart_with_a_line_per_backend(report: Report, tmp_path: Path) -> None:
    page, benches = report
    charts = charts_in_browser(page, tmp_path)
    groups = {bench.group for bench in benches}
    criterion_charts = [chart for chart in charts if chart["group"] in groups]
    assert sorted(chart["group"] for chart in criterion_charts) == sorted(groups)
    for chart in criterion_charts:
        assert chart["width"] > 0
        mine = [bench for bench in benches if bench.group == chart["group"]]
        backends = sorted({bench.backend for bench in mine})
        assert sorted(line["series"] for line in chart["lines"]) == backends, chart["group"]
        assert sorted(chart["legend"]) == backends
        for line in chart["lines"]:
            scales = [bench for bench in mine if bench.backend == line["series"]]
            assert line["attribute"].strip(), line
            assert line["points"] == len(scales), line
            if len(scales) >= 2:
                assert line["points"] >= 2 and line["box"][2] > 0, line  # drawn across the x axis
            markers = [marker for marker in chart["markers"] if marker["series"] == line["series"]]
            assert len(markers) == len(scales)
            x, y, width, height = chart["viewBox"]
            assert all(x <= m["x"] <= x + width and y <= m["y"] <= y + height for m in markers), markers


def test_python_results_are_charted_too(report: Report, tmp_path: Path) -> None:
    charts = {chart["group"]: chart for chart in charts_in_browser(report[0], tmp_path)}
    for group, series in (("python_load", ["inmemory", "sqlite"]), ("python_soak_rss", ["sqlite"]),
                          ("python_soak_ops", ["sqlite"])):
        lines = charts[group]["lines"]
        assert sorted(line["series"] for line in lines) == series
        assert all(line["points"] >= 3 and line["box"][2] > 0 for line in lines), lines
