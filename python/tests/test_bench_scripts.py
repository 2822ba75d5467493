"""Smoke runs of the Python performance scripts (python/scripts/): bench_backends.py, load_test.py,
soak_test.py, bench_vectors.py, bench_scale.py and bench_agents_session.py, each as a subprocess with tiny settings, then criterion_report.py over
the first three's output.

They run on in-memory and SQLite only: the DSN variables are removed from the scripts'
environment, unless ENGRAM_REQUIRE_SERVERS=1, which points them at the local Postgres and MariaDB
(conftest's servers; the test fails when those are unreachable, as the server tests do).
bench_scale.py's Postgres mode runs on conftest's Postgres when ENGRAM_TEST_POSTGRES_DSN is set or
servers are required, in databases of its own dropped at the end of the session.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import CREATED, SERVER_DSNS, server_kwargs, servers_required

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "python" / "scripts"
KINDS = ("BENCH", "LOAD", "SOAK")
OPS = ("append_event", "append_events", "upsert_fact", "list_events", "build_memory_packet")
MIX = ("build_memory_packet", "append_event", "upsert_fact")
COMMON_KEYS = {"kind", "schema_version", "generated_at", "engram_version", "python", "settings", "skipped", "failed"}


@functools.lru_cache(maxsize=None)
def backends() -> List[str]:
    names = ["inmemory", "sqlite"]
    if servers_required():
        for server in ("postgres", "mysql"):
            server_kwargs(server)  # fails the test when the server cannot be reached
        names += ["postgres", "mysql"]
    return names


def script_env() -> Dict[str, str]:
    """The environment without any DSN (or with the local servers' when they are required), and
    without CARGO_TARGET_DIR: every run gets an explicit --target-dir."""
    env = {key: value for key, value in os.environ.items()
           if key != "CARGO_TARGET_DIR" and not (key.startswith("ENGRAM_") and key.endswith("_DSN")
                                                 and key.split("_")[1] in KINDS)}
    if "postgres" in backends():
        for kind in KINDS:
            env[f"ENGRAM_{kind}_POSTGRES_DSN"] = SERVER_DSNS["postgres"]
            env[f"ENGRAM_{kind}_MYSQL_DSN"] = SERVER_DSNS["mysql"]
    return env


def run(script: str, target: Path, *args: str, directory: Path = SCRIPTS) -> str:
    result = subprocess.run([sys.executable, str(directory / script), "--target-dir", str(target), *args],
                            capture_output=True, text=True, timeout=180, env=script_env(), cwd=REPO)
    assert result.returncode == 0, f"{script} {args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def load(path: Path) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def assert_latencies(stats: Dict[str, Any]) -> None:
    assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"], stats
    assert stats["ops_per_s"] > 0, stats


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("target")


@pytest.fixture(scope="module")
def bench(target: Path) -> Dict[str, Any]:
    stdout = run("bench_backends.py", target, "--quick")
    assert "build_memory_packet" in stdout and "wrote" in stdout
    return load(target / "python_bench.json")


@pytest.fixture(scope="module")
def load_results(target: Path) -> Dict[str, Any]:
    stdout = run("load_test.py", target, "--quick", "--duration", "2", "--levels", "1,2")
    assert "2 threads vs 1" in stdout
    return load(target / "python_load.json")


@pytest.fixture(scope="module")
def soak(target: Path) -> Dict[str, Any]:
    stdout = run("soak_test.py", target, "--quick", "--duration", "2", "--interval", "1")
    assert "ops/s" in stdout
    return load(target / "python_soak.json")


def test_bench_backends_times_every_operation_on_every_backend(bench: Dict[str, Any], target: Path) -> None:
    assert COMMON_KEYS | {"backends", "results"} <= set(bench)
    assert bench["kind"] == "engram_python_bench" and bench["settings"]["quick"] is True
    assert sorted(bench["backends"]) == sorted(backends())
    found = {(result["backend"], result["op"]): result for result in bench["results"]}
    assert set(found) == {(backend, op) for backend in backends() for op in OPS}
    for result in found.values():
        assert_latencies(result)
        assert result["calls"] >= 1
        assert result["items_per_s"] == pytest.approx(result["ops_per_s"] * result["items_per_call"])
    assert found[("sqlite", "append_events")]["items_per_call"] == 500
    assert "<table>" in (target / "python_bench.html").read_text(encoding="utf-8")


def test_bench_backends_keeps_the_previous_run_and_compares_with_it(bench: Dict[str, Any], target: Path) -> None:
    run("bench_backends.py", target, "--quick", "--backends", "inmemory", "--iterations", "3")
    assert load(target / "python_bench_prev.json") == bench
    again = load(target / "python_bench.json")
    assert {result["backend"] for result in again["results"]} == {"inmemory"}
    for result in again["results"]:
        before = next(r for r in bench["results"] if (r["backend"], r["op"]) == ("inmemory", result["op"]))
        assert result["prev_p50_ms"] == before["p50_ms"]
        assert result["change_p50"] == pytest.approx(result["p50_ms"] / before["p50_ms"] - 1)
    assert "p50 vs previous" in (target / "python_bench.html").read_text(encoding="utf-8")


def test_load_test_reports_every_level_of_every_backend(load_results: Dict[str, Any]) -> None:
    assert COMMON_KEYS | {"runs", "scaling"} <= set(load_results)
    assert load_results["settings"]["levels"] == [1, 2]
    levels = {(run["backend"], run["concurrency"]) for run in load_results["runs"]}
    assert levels == {(backend, level) for backend in backends() for level in (1, 2)}
    for run_ in load_results["runs"]:
        assert run_["ops_per_s"] > 0 and run_["total_ops"] == sum(s["count"] for s in run_["ops"].values())
        assert run_["elapsed_s"] >= 2
        assert set(run_["ops"]) == set(MIX)
        assert_latencies(run_["ops"]["build_memory_packet"])  # 60% of the calls: always sampled
    for backend in backends():
        entry = load_results["scaling"][backend]
        assert entry["base_level"] == 1 and entry["ratios"]["2"] > 0


def test_load_test_keeps_the_previous_run(load_results: Dict[str, Any], target: Path) -> None:
    run("load_test.py", target, "--quick", "--duration", "1", "--concurrency", "1", "--backends", "inmemory")
    assert load(target / "python_load_prev.json") == load_results
    assert [run_["concurrency"] for run_ in load(target / "python_load.json")["runs"]] == [1]


def test_soak_test_records_every_interval_and_judges_rss(soak: Dict[str, Any]) -> None:
    assert COMMON_KEYS | {"backends", "rss_growth_flagged"} <= set(soak)
    assert isinstance(soak["rss_growth_flagged"], bool)
    assert [entry["backend"] for entry in soak["backends"]] == backends()
    for entry in soak["backends"]:
        assert len(entry["intervals"]) == 2 and entry["warmup_intervals"] == 1
        for interval in entry["intervals"]:
            assert interval["rss_mib"] > 0 and interval["ops"] > 0
            assert_latencies(interval)
        assert entry["rss_judged"] is True and isinstance(entry["rss_growth_flagged"], bool)
        assert entry["rss_final_mib"] == entry["intervals"][-1]["rss_mib"]
        assert entry["rss_growth_mib"] == pytest.approx(entry["rss_final_mib"] - entry["rss_baseline_mib"])
        assert entry["ops_per_s"] > 0 and entry["p95_ms"] > 0
    assert soak["rss_growth_flagged"] == any(entry["rss_growth_flagged"] for entry in soak["backends"])


def test_soak_test_keeps_the_previous_run(soak: Dict[str, Any], target: Path) -> None:
    run("soak_test.py", target, "--quick", "--duration", "1", "--interval", "1", "--backends", "inmemory")
    assert load(target / "python_soak_prev.json") == soak
    assert load(target / "python_soak.json")["backends"][0]["rss_judged"] is False  # one interval: all warm-up


def test_the_report_includes_the_python_results(bench: Dict[str, Any], load_results: Dict[str, Any],
                                                soak: Dict[str, Any], tmp_path: Path) -> None:
    # The first runs' results, in a target of their own (the tests above write new runs over them).
    for name, data in (("python_bench", bench), ("python_load", load_results), ("python_soak", soak)):
        (tmp_path / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    stdout = run("criterion_report.py", tmp_path, directory=REPO / "scripts")
    assert "python: python_bench.json, python_load.json, python_soak.json" in stdout
    page = (tmp_path / "criterion" / "summary.html").read_text(encoding="utf-8")
    for section in ('id="python-bench"', 'id="python-load"', 'id="python-soak"'):
        assert section in page
    for chart in ('data-group="python_load"', 'data-group="python_soak_rss"', 'data-group="python_soak_ops"'):
        assert f'class="chart" {chart}' in page
    # One bench row per backend, one load row per backend and level.
    assert page.count('data-op="build_memory_packet"') == 3 * len(backends())


# --- bench_vectors.py: vectors on every event against the lexical-only build ----------------


def vectors_supported() -> bool:
    """Whether the installed extension takes `embedding` on events (it rejects unknown keys)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_vectors", SCRIPTS / "bench_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    supported: bool = module.vectors_supported()
    return supported


def test_bench_vectors_times_the_lexical_store(target: Path) -> None:
    stdout = run("bench_vectors.py", target, "--events", "1500", "--builds", "5", "--lexical-only")
    assert "lexical" in stdout and "wrote" in stdout
    data = load(target / "python_vectors.json")
    assert data["kind"] == "engram_vectors_bench" and data["settings"]["events"] == 1500
    assert set(data["results"]) == {"lexical"} and data["p50_ratio"] is None
    lexical = data["results"]["lexical"]
    assert lexical["builds"] == 5 and 0 < lexical["p50_ms"] <= lexical["p95_ms"]
    assert lexical["ingest_events_per_s"] > 0


def test_bench_vectors_compares_the_vector_store_with_the_lexical_one(target: Path) -> None:
    if not vectors_supported():
        pytest.skip("the installed engram extension does not take `embedding` on events yet (rebuild it)")
    stdout = run("bench_vectors.py", target, "--events", "1500", "--builds", "5")
    assert "p50 ratio vectors / lexical" in stdout
    data = load(target / "python_vectors.json")
    assert data["skipped"] is None and set(data["results"]) == {"lexical", "vectors"}
    assert data["settings"]["embedder"] == "synthetic" and data["settings"]["dimensions"] == 256
    assert data["p50_ratio"] == pytest.approx(data["results"]["vectors"]["p50_ms"] / data["results"]["lexical"]["p50_ms"],
                                              rel=1e-2)


def test_bench_scale_builds_its_stores_once_and_measures_each(target: Path, tmp_path: Path) -> None:
    stores = tmp_path / "stores"
    first = run("bench_scale.py", target, "--scales", "300,3000", "--packets", "5", "--warmup", "1", "--batch", "500",
                "--store-dir", str(stores))
    assert "building the 3,000-event store" in first and "built 3,000 events at" in first
    data = load(target / "scale_bench.json")
    assert data["kind"] == "scale" and [row["events"] for row in data["packets"]] == [300, 3000]
    for row in data["packets"]:
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], row
        assert row["p50_ratio"] == pytest.approx(row["p50_ms"] / data["packets"][0]["p50_ms"], rel=1e-3)
    built = {rate["events"]: rate for rate in data["ingest"]}
    assert set(built) == {300, 3000} and all(rate["events_per_second"] > 0 for rate in built.values())
    assert built[3000]["decades"][-1]["up_to_events"] == 3000

    again = run("bench_scale.py", target, "--scales", "300,3000", "--packets", "5", "--warmup", "1",
                "--store-dir", str(stores))
    assert "building" not in again, "a complete store is kept between runs"
    assert load(target / "scale_bench.json")["ingest"] == []
    assert (target / "scale_bench_prev.json").exists()


def test_bench_scale_keeps_its_postgres_databases_and_measures_each(target: Path) -> None:
    if not servers_required() and "ENGRAM_TEST_POSTGRES_DSN" not in os.environ:
        pytest.skip("set ENGRAM_TEST_POSTGRES_DSN (or ENGRAM_REQUIRE_SERVERS=1) to run on Postgres")
    server_kwargs("postgres")  # skips (or fails, when servers are required) if Postgres is unreachable
    prefix = f"engram_pytest_scale_{os.getpid()}"
    CREATED["postgres"] += [f"{prefix}_300", f"{prefix}_3000"]  # dropped when the session ends
    arguments = ("--postgres", SERVER_DSNS["postgres"], "--database-prefix", prefix, "--scales", "300,3000",
                 "--packets", "5", "--warmup", "1")
    first = run("bench_scale.py", target, *arguments, "--batch", "500")
    assert f"building the 3,000-event store at {prefix}_3000" in first and "built 3,000 events at" in first
    data = load(target / "scale_bench.json")
    assert data["kind"] == "scale" and data["settings"]["backend"] == "postgres"
    assert [(row["events"], row["store"]) for row in data["packets"]] == [(300, f"{prefix}_300"),
                                                                          (3000, f"{prefix}_3000")]
    for row in data["packets"]:
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], row
        assert row["database_mb"] > 0
        assert row["p50_ratio"] == pytest.approx(row["p50_ms"] / data["packets"][0]["p50_ms"], rel=1e-3)
    assert {rate["events"] for rate in data["ingest"]} == {300, 3000}

    again = run("bench_scale.py", target, *arguments)
    assert "building" not in again, "a complete database is kept between runs"
    assert load(target / "scale_bench.json")["ingest"] == []

    # Completeness is asked of the database: one missing event makes the store be built again.
    server = urlsplit(SERVER_DSNS["postgres"])
    database_url = urlunsplit((server.scheme, server.netloc, f"/{prefix}_300", server.query, ""))
    drop_one = ["psql", "-X", "-d", database_url, "-qc", "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)"]
    subprocess.run(drop_one, check=True, capture_output=True, timeout=60)
    rebuilt = run("bench_scale.py", target, *arguments)
    assert f"building the 300-event store at {prefix}_300" in rebuilt and "building the 3,000" not in rebuilt
    assert [rate["events"] for rate in load(target / "scale_bench.json")["ingest"]] == [300]


def test_bench_agents_session_compares_every_operation_with_sqlite_session() -> None:
    result = subprocess.run([sys.executable, str(SCRIPTS / "bench_agents_session.py"), "--turns", "40", "--calls",
                             "10", "--json"], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["operations"]) == {"add_items", "get_items(limit=20)", "get_items()"}
    for figures in report["operations"].values():
        for side in ("sqlite_session", "engram_session"):
            assert 0 < figures[side]["p50_us"] <= figures[side]["p95_us"]
        assert figures["ratio_p50"] == figures["engram_session"]["p50_us"] / figures["sqlite_session"]["p50_us"]
