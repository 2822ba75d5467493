"""The `engram` command: a demo, and packets, pages, stats and exports from a store.

    engram demo                                   ingest a sample agent's memory, show two packets
    engram packet --db PATH --request FILE.json   build a packet (FILE '-' reads stdin)
    engram inspect --db PATH --request FILE.json [--out page.html]
                                                  the packet and its explain as one HTML page
    engram stats --db PATH --tenant T --user U --agent A [--session S --run R]
                                                  counts of a user's records (or --scope FILE.json)
    engram export / check                         a user's records as JSON Lines / the file's integrity
    engram mcp --db PATH [--user U]               an MCP server over stdio (engram-context[mcp])

Every command but `demo` and `check` opens a server too: `--dsn URL [--database NAME]` for `--db`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, TextIO, cast
from urllib.parse import urlsplit, urlunsplit

from engram._engram import EngramError, Memory
from engram.inspector import inspector_page
from engram.types import MemoryPacket, Scope

DEMO_DB = Path("data") / "engram-demo.db"


# --- tables ---------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, max_width: int = 48) -> str:
    """Rows as an aligned text table; numbers right-aligned, long cells shortened with '…'."""

    def cell(value: Any) -> str:
        if value is None:
            text = "-"
        elif isinstance(value, float):
            text = f"{value:.3f}"
        elif isinstance(value, (list, tuple)):
            text = ", ".join(str(item) for item in value) or "-"
        else:
            text = str(value)
        text = " ".join(text.split())
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(value) for value in row] for row in rows]
    numeric = [
        bool(rows) and all(isinstance(row[index], (int, float)) and not isinstance(row[index], bool) for row in rows)
        for index in range(len(headers))
    ]
    widths = [max([len(header)] + [len(row[index]) for row in cells]) for index, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[index]) if numeric[index] else value.ljust(widths[index])
            for index, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * width for width in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def heading(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"


def explain_report(packet: MemoryPacket, section_limits: Optional[Mapping[str, int]] = None) -> str:
    """The packet's explain as tables: what was selected and why, what was left out and why,
    and where the tokens went (`section_limits`: the request's `budget.per_section`)."""
    explain = packet["explain"]
    report = packet["budget_report"]
    parts: List[str] = []

    selected_rows = [
        (
            item["section"],
            item["id"],
            item["rank"],
            item["score"],
            " ".join(
                f"{name[:3]} {value:.2f}" for name, value in item["signals"].items() if value
            ),
            item["matched_terms"] + [f"#{cue}" for cue in item["cue_hits"]],
            item["source"],
            item["form"],
            item["tokens"],
        )
        for item in explain["selected"]
    ]
    parts.append(heading(f"Selected ({len(selected_rows)})"))
    parts.append(
        table(
            ["section", "id", "rank", "score", "signals", "matched terms / #cues", "source", "form", "tokens"],
            selected_rows,
            max_width=46,
        )
    )

    omitted_rows = [(item["section"], item["id"], item["reason"], item["score"]) for item in explain["omitted"]]
    parts.append(heading(f"Omitted ({len(omitted_rows)})"))
    parts.append(table(["section", "id", "reason", "score"], omitted_rows) if omitted_rows else "(nothing left out)")

    counts = explain["counts"]
    sections = sorted(set(counts["candidates"]) | set(counts["selected"]) | set(report["section_usage"]))
    per_section = dict(section_limits or {})
    budget_rows = [
        (
            section,
            counts["candidates"].get(section, 0),
            counts["selected"].get(section, 0),
            counts["omitted"].get(section, 0),
            report["section_usage"].get(section, 0),
            per_section.get(section),
        )
        for section in sections
    ]
    parts.append(heading("Budget"))
    parts.append(table(["section", "candidates", "selected", "omitted", "tokens", "section limit"], budget_rows))
    parts.append(
        f"total: {report['used_tokens']} of {report['max_tokens']} tokens ({packet['meta']['tokenizer']}); "
        f"omissions: {dict(report['omissions']) or 'none'}; degraded: {counts['degraded']}"
    )
    if report["degradations"]:
        parts.append(
            table(
                ["section", "id", "from", "to", "tokens saved"],
                [(d["section"], d["id"], d["from"], d["to"], d["tokens_saved"]) for d in report["degradations"]],
            )
        )
    timings = explain["timings_us"]
    parts.append(
        "timings (us): "
        + ", ".join(f"{stage} {timings[stage]}" for stage in ("candidates", "score", "assemble", "render", "total"))
    )
    if explain["query_terms"]:
        parts.append(f"query terms: {', '.join(explain['query_terms'])}")
    if explain["capped_terms"]:
        parts.append(f"capped terms (only the newest postings competed): {', '.join(explain['capped_terms'])}")
    for warning in explain["warnings"]:
        parts.append(f"warning: {warning}")
    return "\n".join(parts)


def section_limits(request: Any) -> Dict[str, int]:
    """A request's `budget.per_section` (the packet does not echo it)."""
    budget = request.get("budget") if isinstance(request, dict) else None
    per_section = budget.get("per_section") if isinstance(budget, dict) else None
    return dict(per_section) if isinstance(per_section, dict) else {}


def show_packet(packet: MemoryPacket, out: TextIO, title: str, limits: Optional[Mapping[str, int]] = None) -> None:
    meta = packet["meta"]
    print(heading(f"{title}: {meta['purpose']} packet, {meta['tokens']} tokens"), file=out)
    print(packet["rendered"].rstrip(), file=out)
    print(explain_report(packet, limits), file=out)


def stats_report(stats: Mapping[str, Any]) -> str:
    """`stats` as a table; the run's rows (insights, working state) only when `stats` has them."""
    rows: List[tuple[str, Any]] = [
        ("events", stats["events"]),
        ("facts", ", ".join(f"{k} {v}" for k, v in sorted(stats["facts"].items())) or 0),
        ("episodes", stats["episodes"]),
        ("procedures", stats["procedures"]),
    ]
    if "insights" in stats:
        rows.append(("insights (run)", ", ".join(f"{k} {v}" for k, v in sorted(stats["insights"].items())) or 0))
    rows += [("oldest event", stats["oldest_event"]), ("newest event", stats["newest_event"])]
    if "working_state_version" in stats:
        rows.append(("working state version", stats["working_state_version"]))
    rows.append(("database bytes", stats["database_bytes"]))
    return table(["what", "count"], [(name, str(value) if value is not None else None) for name, value in rows])


# --- commands -------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from engram import _demo

    path = Path(args.db)
    # The demo writes fixed ids: start from an empty file each time.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Memory(path=path) as mem:
        _demo.ingest(mem)
        stats = mem.stats(_demo.CURRENT)
        print(heading(f"Ingested into {path}"), file=out)
        print(
            f"3 sessions of a travel assistant for one user: {stats['events']} events, "
            f"facts {dict(stats['facts'])}, {stats['episodes']} episodes, {stats['procedures']} procedures, "
            f"insights {dict(stats['insights'])}, working state v{stats['working_state_version']}.",
            file=out,
        )
        for title, request in (("1", _demo.planner_request()), ("2", _demo.responder_request())):
            print(heading(f"Request {title}"), file=out)
            for key, value in request.items():
                if key != "scope":
                    print(f"  {key}: {json.dumps(value, default=_iso)}", file=out)
            show_packet(mem.build_memory_packet(request), out, f"Packet {title}", section_limits(request))
    print(
        f"\nTry: engram packet --db {path} --request FILE.json   |   engram stats --db {path} "
        f"--tenant {_demo.TENANT} --user {_demo.USER} --agent {_demo.AGENT} --session session-3 --run session-3-run-1",
        file=out,
    )
    return 0


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _open_existing(args: argparse.Namespace) -> Memory:
    """The store `--db PATH` (an existing SQLite file) or `--dsn URL` (`--database NAME`) names."""
    if args.dsn is not None:
        return Memory(dsn=args.dsn, database=args.database)
    if not Path(args.db).is_file():
        raise SystemExit(f"engram: error: no database at {args.db}")
    return Memory(path=args.db)


def _store_arguments(command: argparse.ArgumentParser) -> None:
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", help="SQLite file")
    where.add_argument("--dsn", help="Postgres or MySQL URL (postgres://..., mysql://...)")
    command.add_argument("--database", help="with --dsn: the database, when the URL names none")


def _unique_keys(pairs: List[tuple[str, Any]]) -> Dict[str, Any]:
    # json keeps the last of repeated keys silently; engram refuses them wherever JSON text comes in.
    keys = [key for key, _ in pairs]
    repeated = next((key for key in keys if keys.count(key) > 1), None)
    if repeated is not None:
        raise ValueError(f"{repeated!r} is given more than once")
    return dict(pairs)


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (OSError, ValueError) as error:
        raise SystemExit(f"engram: error: cannot read {source}: {error}") from error


def cmd_packet(args: argparse.Namespace, out: TextIO) -> int:
    request = _read_json(args.request)
    with _open_existing(args) as mem:
        packet = mem.build_memory_packet(request)
    if args.json:
        print(json.dumps(packet, indent=2), file=out)
    else:
        show_packet(packet, out, "Packet", section_limits(request))
    return 0


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    request = _read_json(args.request)
    with _open_existing(args) as mem:
        packet = mem.build_memory_packet(request)
    source = args.db if args.dsn is None else _without_password(args.dsn)
    page = inspector_page(packet, request, source=source)
    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    print(f"wrote {target} ({len(packet['explain']['selected'])} selected, "
          f"{len(packet['explain']['omitted'])} left out, {packet['meta']['tokens']} tokens)", file=out)
    return 0


def cmd_mcp(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: `engram` runs without the MCP SDK, `engram mcp` needs it.
    try:
        from engram.integrations.mcp_server import run
    except ImportError as missing:
        raise SystemExit(f"engram: error: {missing}") from missing
    return run(args)


def _without_password(dsn: str) -> str:
    """The URL as a page may show it: a password is replaced by `***`."""
    parts = urlsplit(dsn)
    # The netloc is taken apart by hand: a Postgres DSN may list several hosts (`h1:5432,h2:5432`),
    # which `parts.port` refuses.
    user, at, hosts = parts.netloc.rpartition("@")
    if not at or ":" not in user:
        return dsn
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{hosts}"))


# What `engram stats` counts, from which parts of the scope (README.md says the same).
STATS_COUNTS = (
    "Counts what the user sees with the agent: their events of every session (and the oldest and "
    "newest); facts by status, episodes and procedures, theirs and those shared by the agent and the "
    "tenant. With --session and --run (both), also that run's insights by validation and the "
    "session's working state version. database bytes: the whole database file, every tenant's."
)
# The run-dependent counts: left out when no run is named.
RUN_COUNTS = ("insights", "working_state_version")
# `Memory.stats` takes a whole scope; without a run it is given this one and its counts dropped.
NO_RUN = {"session_id": "-", "run_id": "-"}


def stats_scope(args: argparse.Namespace) -> tuple[Dict[str, Any], bool]:
    """The scope `stats` counts (from --scope or the flags), and whether it names a run."""
    if args.scope:
        given = _read_json(args.scope)
        if not isinstance(given, dict):
            raise SystemExit(f"engram: error: {args.scope} is not a JSON object of scope parts")
    else:
        parts = {"tenant_id": args.tenant, "user_id": args.user, "agent_id": args.agent,
                 "session_id": args.session, "run_id": args.run}
        given = {name: value for name, value in parts.items() if value is not None}
        missing = [f"--{part}" for part in ("tenant", "user", "agent") if f"{part}_id" not in given]
        if missing:
            raise SystemExit(f"engram: error: give --scope FILE.json, or --tenant, --user and --agent "
                             f"(missing {', '.join(missing)})")
    run_parts = [name for name in NO_RUN if name in given]
    if len(run_parts) == 1:
        raise SystemExit("engram: error: give --session and --run together (insights and the working "
                         "state are a session's run's), or neither")
    return (given, True) if run_parts else ({**given, **NO_RUN}, False)


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    scope, names_run = stats_scope(args)
    with _open_existing(args) as mem:
        stats: Dict[str, Any] = dict(mem.stats(cast(Scope, scope)))
    if not names_run:
        for name in RUN_COUNTS:
            del stats[name]
    print(json.dumps(stats, indent=2) if args.json else stats_report(stats), file=out)
    return 0


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    with _open_existing(args) as mem:
        problems = mem.check_integrity()
    for problem in problems:
        print(problem, file=out)
    print(f"{args.db}: {len(problems)} problem(s) found" if problems else f"{args.db}: ok", file=out)
    return 1 if problems else 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    # A scope's records are the user's with the agent in every session and run; these two
    # parts only complete the scope `export_scope` takes.
    scope = cast(Scope, {"tenant_id": args.tenant, "user_id": args.user, "agent_id": args.agent, **NO_RUN})
    with _open_existing(args) as mem:
        if args.out:
            receipt = mem.export_scope(scope, args.out)
        else:
            with tempfile.TemporaryDirectory() as directory:
                path = Path(directory) / "export.jsonl"
                receipt = mem.export_scope(scope, path)
                out.write(path.read_text(encoding="utf-8"))
    print(json.dumps(receipt["rows"]), file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="engram", description="engram: memory and context for AI agents.")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="ingest a sample agent's memory into SQLite and explain two packets")
    demo.add_argument("--db", default=str(DEMO_DB), help=f"SQLite file to (re)create (default {DEMO_DB})")
    demo.set_defaults(handler=cmd_demo)

    packet = commands.add_parser("packet", help="build a memory packet from a request file")
    _store_arguments(packet)
    packet.add_argument("--request", required=True, help="JSON build request ('-' reads stdin)")
    packet.add_argument("--json", action="store_true", help="print the whole packet as JSON")
    packet.set_defaults(handler=cmd_packet)

    inspect = commands.add_parser("inspect", help="write one HTML page that shows a packet and its explain",
                                  description="Builds the packet for a request file and writes a self-contained HTML "
                                              "page (no network): the rendered packet, tokens per section against "
                                              "the budget, every selected item with its signals, every candidate "
                                              "left out with its reason, stage timings and the request.")
    _store_arguments(inspect)
    inspect.add_argument("--request", required=True, help="JSON build request ('-' reads stdin)")
    inspect.add_argument("--out", default="packet.html", help="the page to write (default packet.html)")
    inspect.set_defaults(handler=cmd_inspect)

    mcp = commands.add_parser("mcp", help="serve the memory to MCP clients over stdio (needs engram-context[mcp])",
                              description="A Model Context Protocol server over stdio, one memory per process: "
                                          "tools to add, remember, search, get a packet, list, update, delete and "
                                          "forget. --user, --agent, --session and --tenant fill the scope parts a "
                                          "tool call leaves out.")
    where = mcp.add_mutually_exclusive_group()
    where.add_argument("--db", default="data/engram.db", help="SQLite file, or :memory: (default data/engram.db)")
    where.add_argument("--dsn", help="Postgres or MySQL URL (postgres://..., mysql://...)")
    mcp.add_argument("--database", help="with --dsn: the database, when the URL names none")
    mcp.add_argument("--user", help="user_id of calls that give none (else user_id is required)")
    for part, default in (("agent", "default"), ("session", "default"), ("tenant", "default")):
        mcp.add_argument(f"--{part}", default=default, help=f"{part}_id of calls that give none (default {default})")
    mcp.set_defaults(handler=cmd_mcp)

    stats = commands.add_parser("stats", help="counts of a user's records with an agent", description=STATS_COUNTS)
    _store_arguments(stats)
    stats.add_argument("--scope", help="JSON scope file ('-' reads stdin); session_id and run_id optional")
    for part in ("tenant", "user", "agent"):
        stats.add_argument(f"--{part}", help=f"{part}_id (instead of --scope)")
    for part in ("session", "run"):
        stats.add_argument(f"--{part}", help=f"{part}_id, with --{'run' if part == 'session' else 'session'}: "
                                             "adds the run's insights and working state")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(handler=cmd_stats)

    export = commands.add_parser("export", help="a user's records with an agent, as JSON Lines",
                                 description="Every record and state of the user with the agent (all sessions "
                                             "and runs), in export_scope's JSON Lines; the row counts go to stderr.")
    _store_arguments(export)
    for part in ("tenant", "user", "agent"):
        export.add_argument(f"--{part}", required=True, help=f"{part}_id")
    export.add_argument("--out", help="write to this file instead of stdout")
    export.set_defaults(handler=cmd_export)

    check = commands.add_parser("check", help="check the database file's integrity, its indexes included",
                                description="SQLite's integrity_check and FTS5's check of each postings index, "
                                            "through engram's own SQLite; exits 1 when a problem is found.")
    # SQLite only: the servers keep their own checks (amcheck, CHECK TABLE).
    check.add_argument("--db", required=True, help="SQLite file")
    check.set_defaults(dsn=None)
    check.set_defaults(handler=cmd_check)
    return root


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args, sys.stdout))
    except EngramError as error:
        print(f"engram: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
