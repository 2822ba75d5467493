"""The engram command: demo, packet, inspect, stats, export and check."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engram import cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("demo") / "data" / "demo.db"
    finished = subprocess.run(
        [sys.executable, "-m", "engram.cli", "demo", "--db", str(path)], capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    return path, finished.stdout


def test_demo_shows_packets_and_their_explain(demo: tuple[Path, str]) -> None:
    path, output = demo
    assert path.is_file()
    for heading in ("Ingested into", "planner packet", "responder packet", "Selected (", "Omitted (", "Budget"):
        assert heading in output, heading
    assert "## Working state" in output and "Maria is vegetarian." in output
    assert "fact-user-diet" in output  # a selected fact, by id
    assert "purpose_gate" in output  # the unvalidated insight kept from the responder
    assert "tokens" in output and "o200k_base" in output


def test_demo_is_repeatable(demo: tuple[Path, str]) -> None:
    path, first = demo
    again = subprocess.run(
        [sys.executable, "-m", "engram.cli", "demo", "--db", str(path)], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr

    def without_timings(text: str) -> str:
        return "\n".join(line for line in text.splitlines() if not line.startswith("timings"))

    assert without_timings(again.stdout) == without_timings(first)


def test_packet_command(demo: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engram import _demo

    path, _ = demo
    request = tmp_path / "request.json"
    request.write_text(json.dumps({**_demo.responder_request(), "now": _demo.NOW.isoformat()}), encoding="utf-8")
    assert cli.main(["packet", "--db", str(path), "--request", str(request), "--json"]) == 0
    packet = json.loads(capsys.readouterr().out)
    assert packet["meta"]["purpose"] == "responder" and packet["meta"]["schema_version"] == "v1"
    assert cli.main(["packet", "--db", str(path), "--request", str(request)]) == 0
    assert "Selected (" in capsys.readouterr().out


def test_stats_command(demo: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engram import _demo

    path, _ = demo
    scope_file = tmp_path / "scope.json"
    scope_file.write_text(json.dumps(_demo.CURRENT), encoding="utf-8")
    assert cli.main(["stats", "--db", str(path), "--scope", str(scope_file), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["events"] == len(_demo.events())
    assert stats["facts"] == {"active": 8, "superseded": 1}
    flags = ["--tenant", _demo.TENANT, "--user", _demo.USER, "--agent", _demo.AGENT,
             "--session", "session-3", "--run", "session-3-run-1"]
    assert cli.main(["stats", "--db", str(path), *flags]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert rows["working state version"] == "1"
    assert rows["database bytes"] == str(stats["database_bytes"]) == str(path.stat().st_size)


def table_rows(table: str) -> dict[str, str]:
    """The "what" and "count" cells of a stats table, by what (cells are two spaces apart)."""
    cells = [line.split("  ", 1) for line in table.splitlines()[2:]]
    return {what.strip(): count.strip() for what, count in cells}


def test_stats_asks_only_for_what_it_counts(demo: tuple[Path, str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Events, facts, episodes and procedures are the user's and agent's whatever the session:
    tenant, user and agent are enough. Insights and the working state are a session's run's,
    shown only when both are given."""
    from engram import _demo

    path, _ = demo
    who = ["--tenant", _demo.TENANT, "--user", _demo.USER, "--agent", _demo.AGENT]
    assert cli.main(["stats", "--db", str(path), *who, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["events"] == len(_demo.events())  # every session's
    assert stats["facts"] == {"active": 8, "superseded": 1}
    assert stats["database_bytes"] == path.stat().st_size
    assert "insights" not in stats and "working_state_version" not in stats
    assert cli.main(["stats", "--db", str(path), *who]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert rows["events"] == str(stats["events"]) and rows["database bytes"] == str(stats["database_bytes"])
    assert "working state version" not in rows and "insights (run)" not in rows

    run = ["--session", _demo.CURRENT["session_id"], "--run", _demo.CURRENT["run_id"]]
    assert cli.main(["stats", "--db", str(path), *who, *run, "--json"]) == 0
    with_run = json.loads(capsys.readouterr().out)
    assert with_run["working_state_version"] >= 1 and with_run["insights"]
    assert with_run["events"] == stats["events"]  # the session does not narrow the events

    with pytest.raises(SystemExit, match="--session and --run together"):
        cli.main(["stats", "--db", str(path), *who, "--session", "s"])
    with pytest.raises(SystemExit, match="--agent"):
        cli.main(["stats", "--db", str(path), "--tenant", "t", "--user", "u"])


def test_bad_request_is_reported_naming_the_field(
    demo: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = demo
    request = tmp_path / "bad.json"
    request.write_text(json.dumps({"scope": {"tenant_id": "t"}, "purpose": "planner"}), encoding="utf-8")
    assert cli.main(["packet", "--db", str(path), "--request", str(request)]) == 1
    assert "InvalidInputError: scope.user_id: missing" in capsys.readouterr().err


def test_missing_database_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no database"):
        cli.main(["stats", "--db", str(tmp_path / "absent.db"), "--tenant", "t", "--user", "u", "--agent", "a"])


def test_console_script_is_installed() -> None:
    script = shutil.which("engram", path=str(Path(sys.executable).parent))
    assert script is not None
    finished = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0 and "demo" in finished.stdout


def copy_database(source: Path, target: Path) -> Path:
    """A page-for-page copy (WAL included) through Python's own sqlite3 module."""
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    return target


def test_export_command_prints_a_scopes_records(demo: tuple[Path, str], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from engram import _demo

    path, _ = demo
    owner = ["--tenant", _demo.TENANT, "--user", _demo.USER, "--agent", _demo.AGENT]
    assert cli.main(["export", "--db", str(path), *owner]) == 0
    printed = capsys.readouterr()
    lines = [json.loads(line) for line in printed.out.splitlines()]
    assert lines[0]["type"] == "engram_export" and lines[0]["user_id"] == _demo.USER
    rows = json.loads(printed.err)
    events = sum(1 for line in lines if line.get("type") == "event")
    assert events == rows["events"] > 0 and len(lines) == 1 + sum(rows.values())
    assert cli.main(["export", "--db", str(path), *owner, "--out", str(tmp_path / "out.jsonl")]) == 0
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == printed.out


def test_check_command_finds_a_damaged_index(demo: tuple[Path, str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_database(demo[0], tmp_path / "copy.db")
    assert cli.main(["check", "--db", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")
    # FTS5's shadow tables are ordinary tables: any SQLite can damage them.
    with sqlite3.connect(path) as raw:
        damaged = raw.execute("UPDATE event_postings_data SET block = zeroblob(length(block)) WHERE id > 10").rowcount
    assert damaged > 0
    assert cli.main(["check", "--db", str(path)]) == 1
    output = capsys.readouterr().out
    assert "event_postings" in output and "problem(s) found" in output


def test_older_sqlite_reads_every_table_but_the_postings_indexes(demo: tuple[Path, str], tmp_path: Path) -> None:
    """What README.md says of ordinary tools: Python's sqlite3 (3.40 on Debian 12) reads every
    table engram keeps, and passes integrity_check; only the FTS5 postings indexes need 3.43."""
    path = copy_database(demo[0], tmp_path / "copy.db")
    with sqlite3.connect(path) as raw:
        tables = [name for (name,) in raw.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]
        postings = {name for name in tables if name.endswith("_postings")}
        assert postings == {"event_postings", "fact_postings", "episode_postings", "procedure_postings",
                            "insight_postings"}
        for table in sorted(set(tables) - postings):
            raw.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert raw.execute("SELECT count(*) FROM events").fetchone()[0] > 0
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        if sqlite3.sqlite_version_info < (3, 43):
            with pytest.raises(sqlite3.OperationalError, match="contentless_delete"):
                raw.execute("SELECT count(*) FROM event_postings").fetchone()
        else:
            raw.execute("SELECT count(*) FROM event_postings").fetchone()


def test_a_key_given_twice_in_a_request_file_is_refused(demo: tuple[Path, str], tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text('{"scope": {"tenant_id": "t"}, "purpose": "planner", "purpose": "tool"}', encoding="utf-8")
    with pytest.raises(SystemExit, match="'purpose' is given more than once"):
        cli.main(["packet", "--db", str(demo[0]), "--request", str(request)])


@pytest.mark.parametrize("server", ["postgres", "mysql"])
def test_commands_open_a_server_by_dsn(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import make_scope, server_kwargs

    from engram import Memory

    arguments = server_kwargs(server)
    scope = make_scope(user_id="cli-dsn")
    with Memory(**arguments) as mem:
        mem.append_event({"scope": scope, "kind": "message", "payload": {"role": "user", "text": "dinner in Lisbon"}})
    where = ["--dsn", arguments["dsn"], "--database", arguments["database"]]
    owner = ["--tenant", scope["tenant_id"], "--user", scope["user_id"], "--agent", scope["agent_id"]]
    assert cli.main(["stats", *where, *owner, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 1
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"scope": scope, "purpose": "responder", "query": "dinner"}), encoding="utf-8")
    assert cli.main(["packet", *where, "--request", str(request), "--json"]) == 0
    assert "dinner in Lisbon" in json.loads(capsys.readouterr().out)["rendered"]
    assert cli.main(["export", *where, *owner]) == 0
    assert sum(1 for line in capsys.readouterr().out.splitlines() if '"type":"event"' in line) == 1
    page = tmp_path / "page.html"
    assert cli.main(["inspect", *where, "--request", str(request), "--out", str(page)]) == 0
    assert "dinner in Lisbon" in page.read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        cli.main(["stats", "--db", "x.db", *where, *owner])  # one store or the other


@pytest.mark.parametrize(("dsn", "shown"), [
    ("postgres://me:secret@db:5432/engram", "postgres://me:***@db:5432/engram"),
    ("postgres://me:secret@primary:5432,standby:5432/engram?connect_timeout=2",
     "postgres://me:***@primary:5432,standby:5432/engram?connect_timeout=2"),
    ("postgres://me@primary,standby/engram", "postgres://me@primary,standby/engram"),
])
def test_the_inspect_page_shows_a_dsn_without_its_password(dsn: str, shown: str) -> None:
    assert cli._without_password(dsn) == shown
