"""`engram inspect`: one self-contained HTML page per packet, opened in headless Chromium. The
DOM must show every selected id and every omitted id with its reason, and the page must make no
request of its own (Chromium's network log says what the page asked for)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest

from conftest import chromium
from engram import Memory, _demo, cli
from engram.inspector import inspector_page


@pytest.fixture(scope="module")
def inspected(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Dict[str, Any], Dict[str, Any]]:
    """The demo store, a request small enough that items are degraded and left out for every
    reason the demo holds, the page `engram inspect` wrote, and the packet it shows."""
    root = tmp_path_factory.mktemp("inspect")
    database = root / "demo.db"
    finished = subprocess.run([sys.executable, "-m", "engram.cli", "demo", "--db", str(database)],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    request = {**_demo.responder_request(), "now": _demo.NOW.isoformat(),
               "budget": {"max_tokens": 260, "per_section": {"facts": 90}}}
    request_file = root / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    page = root / "pages" / "packet.html"
    finished = subprocess.run([sys.executable, "-m", "engram.cli", "inspect", "--db", str(database),
                               "--request", str(request_file), "--out", str(page)],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"wrote {page}" in finished.stdout
    with Memory(path=str(database)) as mem:
        packet = dict(mem.build_memory_packet(request))
    return page, packet, request


def open_in_chromium(page: Path, scratch: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    scratch.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [chromium("open the inspector page"), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={scratch / 'profile'}", "--virtual-time-budget=3000", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120)


class Rows(HTMLParser):
    """The page's `selected` and `omitted` rows, as Chromium laid out the DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.selected: List[str] = []
        self.omitted: List[Tuple[str, str]] = []
        self.sections: Set[str] = set()

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("class") == "selected":
            self.selected.append(found["data-id"] or "")
        if tag == "tr" and found.get("class") == "omitted":
            self.omitted.append((found["data-id"] or "", found["data-reason"] or ""))
        if tag == "section" and found.get("id"):
            self.sections.add(found["id"] or "")


def test_the_dom_shows_every_selected_id_and_every_omission_reason(
        inspected: Tuple[Path, Dict[str, Any], Dict[str, Any]], tmp_path: Path) -> None:
    page, packet, _ = inspected
    opened = open_in_chromium(page, tmp_path, "--dump-dom")
    assert "<main>" in opened.stdout, opened.stderr[-2000:]
    rows = Rows()
    rows.feed(opened.stdout)
    explain = packet["explain"]
    assert rows.selected == [item["id"] for item in explain["selected"]]
    assert rows.omitted == [(item["id"], item["reason"]) for item in explain["omitted"]]
    reasons = {reason for _, reason in rows.omitted}
    assert {"purpose_gate", "duplicate", "total_budget"} <= reasons, reasons
    assert packet["budget_report"]["degradations"], "the request is small enough to degrade an item"
    assert {"summary", "budget", "rendered", "selected", "omitted", "degraded", "timings", "request"} <= rows.sections


def test_the_page_requests_nothing(inspected: Tuple[Path, Dict[str, Any], Dict[str, Any]], tmp_path: Path) -> None:
    page, _, _ = inspected
    assert requested_by(page, tmp_path / "page") == []
    # The same check catches a page that does fetch something.
    leaky = tmp_path / "leaky.html"
    leaky.write_text(page.read_text(encoding="utf-8").replace(
        '<meta http-equiv="Content-Security-Policy"', '<link rel="stylesheet" href="https://fonts.example.invalid/a.css">'
        '<meta name="removed"'), encoding="utf-8")
    assert requested_by(leaky, tmp_path / "leaky") == ["https://fonts.example.invalid/a.css"]
    text = page.read_text(encoding="utf-8")
    for needle in ("<script", "<img", "<link", "url(", "@import", "http://", "https://"):
        assert needle not in text, needle


def requested_by(page: Path, scratch: Path) -> List[str]:
    """Every URL the page itself asked for, but its own file: Chromium's own background calls
    (updates, accounts) carry no file:// isolation key and are left out."""
    log = scratch / "netlog.json"
    opened = open_in_chromium(page, scratch, f"--log-net-log={log}", "--dump-dom")
    assert log.is_file(), opened.stderr[-2000:]
    netlog = json.loads(log.read_text(encoding="utf-8"))
    start_job = netlog["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in netlog["events"]:
        params = event.get("params") or {}
        if event["type"] == start_job and "file://" in str(params.get("network_isolation_key", "")):
            urls.append(params["url"])
    return [url for url in urls if not url.startswith("file:")]


def test_a_screenshot_of_the_page_is_drawn(inspected: Tuple[Path, Dict[str, Any], Dict[str, Any]],
                                           tmp_path: Path) -> None:
    page, _, _ = inspected
    shot = tmp_path / "page.png"
    opened = open_in_chromium(page, tmp_path, "--hide-scrollbars", "--window-size=1400,2400", f"--screenshot={shot}")
    assert shot.is_file(), opened.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 2400)
    # A drawn page of tables and bars compresses far worse than a blank one (a few KB).
    assert len(data) > 100_000, len(data)
    keep = os.environ.get("ENGRAM_INSPECT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_the_page_escapes_what_it_shows() -> None:
    with Memory(in_memory=True) as mem:
        me = mem.scope("<b>maria</b>", session_id="chat-1")
        me.add_message("user", "<script>alert('x')</script> I live in Lisbon & love it")
        request = {"scope": me.scope, "purpose": "responder", "query": "<img src=x> Lisbon"}
        packet = mem.build_memory_packet(request)
    page = inspector_page(packet, request)
    assert "<script>" not in page and "<img" not in page and "<b>maria</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; I live in Lisbon &amp; love it" in page


def test_inspect_names_a_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = tmp_path / "request.json"
    request.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit, match="no database at"):
        cli.main(["inspect", "--db", str(tmp_path / "missing.db"), "--request", str(request)])
