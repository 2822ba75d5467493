"""One self-contained HTML page that shows a memory packet and why it holds what it holds
(`engram inspect`): the rendered text, each section's tokens against its budget, every selected
item with its signals, every candidate left out with its reason, the stage timings and the
request. No scripts, fonts or images from anywhere: the page opens offline and requests nothing.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any, Iterable, List, Mapping, Optional, Sequence, cast

from .types import MemoryPacket

__all__ = ["inspector_page"]

SIGNALS = ("relevance", "recency", "importance", "confidence", "cue", "vector")

STYLE = """
:root { --ink: #1d2330; --muted: #5d6676; --line: #dde2ea; --paper: #ffffff; --wash: #f5f7fa;
        --bar: #3d6fd9; --over: #d9534f; --soft: #9db6ec; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--wash); }
header { background: var(--ink); color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
header p { margin: 0; color: #c9d1de; }
main { padding: 20px 28px 40px; display: grid; gap: 18px; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 10px; }
h2 small { color: var(--muted); font-weight: 400; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font: 12.5px/1.5 ui-monospace, Menlo, Consolas, monospace;
      background: var(--wash); border-radius: 6px; padding: 10px 12px; max-height: 560px; overflow: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 500; border-bottom: 1px solid var(--line); padding: 5px 6px; }
td { border-bottom: 1px solid var(--line); padding: 6px; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 12px ui-monospace, Menlo, Consolas, monospace; background: var(--wash); padding: 1px 4px; border-radius: 4px;
       word-break: break-all; }
.meter { position: relative; height: 16px; background: var(--wash); border-radius: 4px; overflow: hidden; min-width: 120px; }
.meter span { position: absolute; inset: 0 auto 0 0; background: var(--bar); }
.meter.over span { background: var(--over); }
.meter em { position: absolute; right: 6px; top: 0; font-size: 11px; font-style: normal; line-height: 16px; }
.signals { display: grid; grid-template-columns: 74px 1fr 34px; gap: 2px 6px; align-items: center; font-size: 11px;
           color: var(--muted); min-width: 190px; }
.signals i { display: block; height: 7px; background: var(--soft); border-radius: 3px; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px; background: var(--wash);
       border: 1px solid var(--line); margin: 0 3px 2px 0; white-space: nowrap; }
.tag.full { background: #e3f3e6; border-color: #b9dfc1; }
.tag.compact { background: #fff4d9; border-color: #f0d98f; }
.tag.reference { background: #fbe3e3; border-color: #f0b4b4; }
.note { color: var(--muted); font-size: 12px; }
.text { max-width: 520px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
"""


def _number(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else escape(str(value))


def _meter(used: float, limit: float, label: str) -> str:
    share = 0.0 if limit <= 0 else min(used / limit, 1.0)
    over = " over" if used > limit else ""
    return (f'<div class="meter{over}" title="{escape(label)}"><span style="width:{share * 100:.1f}%"></span>'
            f"<em>{escape(label)}</em></div>")


def _tags(values: Iterable[str], kind: str = "") -> str:
    return "".join(f'<span class="tag {escape(kind)}">{escape(value)}</span>' for value in values)


def _rows(headers: Sequence[str], rows: Iterable[str], empty: str) -> str:
    body = "".join(rows)
    if not body:
        return f'<p class="note">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(header)}</th>" for header in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _budget(packet: MemoryPacket, request: Mapping[str, Any]) -> str:
    report = packet["budget_report"]
    per_section = dict((request.get("budget") or {}).get("per_section") or {})
    used, most = report["used_tokens"], report["max_tokens"]
    rows = [f'<tr data-section="total"><td><b>total</b></td><td class="num">{used}</td><td class="num">{most}</td>'
            f"<td>{_meter(used, most, f'{used} / {most}')}</td></tr>"]
    for section, used in report["section_usage"].items():
        limit = per_section.get(section, report["max_tokens"])
        label = f"{used} / {limit}" + ("" if section in per_section else " (total)")
        rows.append(f'<tr data-section="{escape(section)}"><td>{escape(section)}</td><td class="num">{used}</td>'
                    f'<td class="num">{limit}</td><td>{_meter(used, limit, label)}</td></tr>')
    return _rows(("section", "tokens", "budget", ""), rows, "nothing placed")


def _signals(signals: Mapping[str, float]) -> str:
    if not any(signals.values()):
        return '<span class="note">not scored (state)</span>'
    cells = []
    for name in SIGNALS:
        value = float(signals.get(name, 0.0))
        cells.append(f'<span>{name}</span><i style="width:{max(min(value, 1.0), 0.0) * 100:.0f}%"></i>'
                     f"<span>{value:.2f}</span>")
    return f'<div class="signals">{"".join(cells)}</div>'


def _selected_row(item: Mapping[str, Any]) -> str:
    notes: List[str] = []
    if item.get("replaced"):
        replaced = item["replaced"]
        notes.append(f"replaced <code>{escape(replaced['fact_id'])}</code> "
                     f"({escape(json.dumps(replaced['value'], ensure_ascii=False))}, "
                     f"from {escape(str(replaced['valid_from'])[:10])})")
    if item.get("outdated_by"):
        notes.append(f"outdated by fact <code>{escape(item['outdated_by'])}</code>: score halved")
    if item.get("evidence"):
        notes.append("from " + ", ".join(f"<code>{escape(source)}</code>" for source in item["evidence"]))
    if item.get("context_of"):
        notes.append(f"context of <code>{escape(item['context_of'])}</code>")
    words = item.get("matched_words") or item.get("matched_terms") or []
    matched = _tags(words) + _tags((f"#{cue}" for cue in item.get("cue_hits", [])))
    note = f'<div class="note">{"; ".join(notes)}</div>' if notes else ""
    return (f'<tr class="selected" data-id="{escape(item["id"])}" data-section="{escape(item["section"])}">'
            f'<td>{escape(item["section"])}<div class="note">#{item["rank"]}</div></td>'
            f'<td><code>{escape(item["id"])}</code><div class="note">{escape(item.get("kind", ""))}'
            f'{" · " + escape(str(item["time"])[:16]) if item.get("time") else ""}</div></td>'
            f'<td class="text">{escape(item.get("text", ""))}{note}</td>'
            f'<td>{_tags([item["form"]], item["form"])}<div class="note">{item["tokens"]} tokens</div></td>'
            f'<td class="num">{_number(item["score"])}</td>'
            f"<td>{_signals(item['signals'])}</td>"
            f'<td>{_tags(item.get("sources", []))}</td><td>{matched}</td></tr>')


def _omitted_row(item: Mapping[str, Any]) -> str:
    score = "" if item.get("score") is None else _number(item["score"])
    return (f'<tr class="omitted" data-id="{escape(item["id"])}" data-reason="{escape(item["reason"])}">'
            f'<td>{escape(item["section"])}</td><td><code>{escape(item["id"])}</code></td>'
            f'<td>{_tags([item["reason"]])}</td><td class="num">{score}</td></tr>')


def _timings(timings: Mapping[str, Any]) -> str:
    total = max(int(timings.get("total", 0)), 1)
    rows = [f'<tr><td>{escape(stage)}</td><td class="num">{int(micros)} µs</td>'
            f'<td>{_meter(int(micros), total, f"{int(micros) / total:.0%}")}</td></tr>'
            for stage, micros in timings.items()]
    return _rows(("stage", "time", "share of total"), rows, "no timings")


def inspector_page(packet: MemoryPacket, request: Mapping[str, Any], *, source: Optional[str] = None) -> str:
    """The page for a packet and the request that built it; `source` says where the store was."""
    meta, explain = packet["meta"], packet["explain"]
    scope = meta["scope"]
    title = f"{meta['purpose']} packet for {scope['user_id']}"
    query = request.get("query")
    degraded = [f'<tr data-id="{escape(item["id"])}"><td>{escape(item["section"])}</td><td><code>{escape(item["id"])}</code></td>'
                f'<td>{escape(item["from"])} → {escape(item["to"])}</td><td class="num">{item["tokens_saved"]}</td></tr>'
                for item in packet["budget_report"]["degradations"]]
    facts = [("scope", " / ".join(f"{part}={scope[part]}" for part in ("tenant_id", "user_id", "agent_id", "session_id", "run_id"))),
             ("query", query if query else "(none)"),
             ("tokens", f"{meta['tokens']} of {packet['budget_report']['max_tokens']} ({meta['tokenizer']}, {meta['format']})"),
             ("generated at", str(meta["generated_at"])),
             ("query terms", ", ".join(explain["query_terms"]) or "(none)"),
             ("capped terms", ", ".join(explain["capped_terms"]) or "(none)")]
    if source:
        facts.append(("store", source))
    counts = explain["counts"]
    warnings = "".join(f"<li>{escape(warning)}</li>" for warning in explain["warnings"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>engram · {escape(title)}</title>
<style>{STYLE}</style></head>
<body>
<header><h1>engram · {escape(title)}</h1>
<p>{len(explain["selected"])} selected, {len(explain["omitted"])} left out,
{len(packet["budget_report"]["degradations"])} degraded · {meta["tokens"]} tokens · built in {explain["timings_us"]["total"]} µs</p></header>
<main>
<section id="summary"><h2>Request</h2><dl>{"".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)}</dl>
{f'<h2 style="margin-top:12px">Warnings</h2><ul>{warnings}</ul>' if warnings else ""}</section>
<section id="budget"><h2>Budget <small>tokens per section against its budget</small></h2>{_budget(packet, request)}</section>
<section id="rendered" class="wide"><h2>Rendered <small>what the model reads</small></h2><pre>{escape(packet["rendered"])}</pre></section>
<section id="selected" class="wide"><h2>Selected <small>{len(explain["selected"])} items, by section and rank</small></h2>
{_rows(("section", "id", "text as placed", "form", "score", "signals", "found by", "matched"),
       (_selected_row(item) for item in explain["selected"]), "nothing selected")}</section>
<section id="omitted"><h2>Left out <small>{len(explain["omitted"])} candidates and why</small></h2>
{_rows(("section", "id", "reason", "score"), (_omitted_row(item) for item in explain["omitted"]), "nothing left out")}</section>
<section id="degraded"><h2>Degraded <small>placed in a smaller form</small></h2>
{_rows(("section", "id", "form", "tokens saved"), degraded, "nothing degraded")}
<h2 style="margin-top:14px">Counts</h2>
{_rows(("section", "candidates", "selected", "omitted"),
       (f'<tr><td>{escape(section)}</td><td class="num">{count}</td><td class="num">{counts["selected"].get(section, 0)}</td>'
        f'<td class="num">{counts["omitted"].get(section, 0)}</td></tr>' for section, count in counts["candidates"].items()),
       "no candidates")}</section>
<section id="timings"><h2>Stage timings</h2>{_timings(cast(Mapping[str, Any], explain["timings_us"]))}</section>
<section id="request"><h2>Request file</h2><pre>{escape(json.dumps(request, indent=2, ensure_ascii=False, default=str))}</pre></section>
</main></body></html>
"""
