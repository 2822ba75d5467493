"""examples/langchain_deepseek.py against a local fake of an OpenAI-compatible endpoint: the
model is asked with engram's memory, and a later session remembers what an earlier one said."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

pytest.importorskip("langchain_core")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "langchain_deepseek.py"


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers `POST /chat/completions` and `/v1/chat/completions` with a canned completion and
    records each request (path, headers, body) in the server's `requests`."""

    server: "FakeServer"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                     "body": body})
        if self.path not in ("/chat/completions", "/v1/chat/completions"):
            self.send_error(404)
            return
        content = f"canned answer {len(self.server.requests)}"
        if body.get("response_format") == {"type": "json_object"}:
            content = json.dumps({"facts": extracted(body["messages"][-1]["content"])})
        answer = json.dumps({
            "id": f"chatcmpl-{len(self.server.requests)}",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
        }).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def extracted(conversation: str) -> List[Dict[str, Any]]:
    """What a model in JSON mode would find in `[id] role: text` lines: the user's city, with a
    key of its own and a made-up source, as models do (the extractor drops those)."""
    facts: List[Dict[str, Any]] = []
    for line in conversation.splitlines():
        said = re.match(r"\[(?P<id>[^\]]+)\] user: .*\bI (?:live in|moved to) (?P<city>[A-Z][a-z]+)", line)
        if said:
            facts.append({"fact_key": "user.city", "value": said["city"], "confidence": 0.95,
                          "sources": [said["id"], "msg-hallucinated"], "reason": "stated by the user"})
    return facts


class FakeServer(ThreadingHTTPServer):
    requests: List[Dict[str, Any]]


@pytest.fixture
def fake_openai() -> Iterator[FakeServer]:
    server = FakeServer(("127.0.0.1", 0), FakeOpenAI)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def run_example(server: FakeServer, tmp_path: Path, *args: str, base_path: str = "") -> str:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DEEPSEEK_")}
    environment.update({
        "DEEPSEEK_API_KEY": "dummy-key",
        "DEEPSEEK_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}{base_path}",
        "ENGRAM_DB": str(tmp_path / "memory.db"),
    })
    # A .env in the working directory hides the repository's own (a developer's real settings).
    (tmp_path / ".env").write_text("# nothing: the environment above says it all\n", encoding="utf-8")
    finished = subprocess.run([sys.executable, str(EXAMPLE), *args], cwd=tmp_path, env=environment,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def system_text(request: Dict[str, Any]) -> str:
    return "\n".join(message["content"] for message in request["body"]["messages"] if message["role"] == "system")


def test_a_later_session_is_asked_with_what_an_earlier_one_said(fake_openai: FakeServer, tmp_path: Path) -> None:
    first = run_example(fake_openai, tmp_path, "--session", "s1", "--say", "My favourite city is Lisbon.",
                        "--say", "I also like trams.")
    assert "assistant: canned answer 1" in first and "assistant: canned answer 2" in first
    run_example(fake_openai, tmp_path, "--session", "s2", "--say", "Which city is my favourite?")

    requests = fake_openai.requests
    assert len(requests) == 3
    for request in requests:
        assert request["path"] == "/chat/completions"
        assert request["authorization"] == "Bearer dummy-key"
        assert request["body"]["model"] == "deepseek-chat"
    # Within session 1, the second turn carries the first as history.
    second_turn = [(message["role"], message["content"]) for message in requests[1]["body"]["messages"]]
    assert ("user", "My favourite city is Lisbon.") in second_turn
    assert ("assistant", "canned answer 1") in second_turn
    assert second_turn[-1] == ("user", "I also like trams.")
    # Session 2 (a new process, no history of its own) gets the fact from memory, in a system message.
    third_turn = requests[2]["body"]["messages"]
    assert [message["role"] for message in third_turn] == ["system", "system", "user"]
    assert "Lisbon" in system_text(requests[2])
    assert "Lisbon" not in third_turn[-1]["content"]


def test_the_base_url_may_carry_a_path(fake_openai: FakeServer, tmp_path: Path) -> None:
    run_example(fake_openai, tmp_path, "--session", "s1", "--say", "hello", base_path="/v1")
    assert [request["path"] for request in fake_openai.requests] == ["/v1/chat/completions"]


def test_settings_come_from_a_dot_env_file(fake_openai: FakeServer, tmp_path: Path) -> None:
    port = fake_openai.server_address[1]
    (tmp_path / ".env").write_text(
        f"# local settings\nDEEPSEEK_API_KEY=from-file\nDEEPSEEK_BASE_URL='http://127.0.0.1:{port}'\n"
        "DEEPSEEK_MODEL=deepseek-reasoner\n", encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DEEPSEEK_")}
    environment["ENGRAM_DB"] = str(tmp_path / "memory.db")
    finished = subprocess.run([sys.executable, str(EXAMPLE), "--say", "hi"], cwd=tmp_path, env=environment,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    (request,) = fake_openai.requests
    assert request["authorization"] == "Bearer from-file"
    assert request["body"]["model"] == "deepseek-reasoner"


def test_a_missing_key_is_reported(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DEEPSEEK_")}
    (tmp_path / ".env").write_text("DEEPSEEK_API_KEY=\n", encoding="utf-8")
    finished = subprocess.run([sys.executable, str(EXAMPLE), "--say", "hi"], cwd=tmp_path, env=environment,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    assert "DEEPSEEK_API_KEY" in finished.stderr


def test_extract_flag_keeps_facts_and_a_move_supersedes_them(fake_openai: FakeServer, tmp_path: Path) -> None:
    first = run_example(fake_openai, tmp_path, "--session", "s1", "--say", "Hi! I live in Lisbon.", "--extract")
    assert "remembered (created): user.city = \"Lisbon\"" in first
    second = run_example(fake_openai, tmp_path, "--session", "s2", "--say", "Big news: I moved to Berlin.", "--extract")
    assert "remembered (superseded): user.city = \"Berlin\"" in second

    extraction_requests = [request for request in fake_openai.requests if "response_format" in request["body"]]
    assert len(extraction_requests) == 2
    # Each call sends only its session's new turns, and names the keys already kept.
    assert "Lisbon" in extraction_requests[0]["body"]["messages"][-1]["content"]
    later = extraction_requests[1]["body"]["messages"]
    assert "Lisbon" not in later[-1]["content"] and "Berlin" in later[-1]["content"]
    assert "user.city" in later[0]["content"]

    from engram import Memory

    with Memory(path=str(tmp_path / "memory.db")) as mem:
        me = mem.scope("me", agent_id="travel-assistant", session_id="s3")
        history = me.fact_history("user.city")
        assert [fact["value"] for fact in history] == ["Lisbon", "Berlin"]
        assert all(len(fact["sources"]) == 1 for fact in history), "the made-up source was dropped"
        packet = me.build_memory_packet(purpose="responder", query="where do I live?")
        assert "; was Lisbon] user.city: Berlin" in packet["rendered"], packet["rendered"]
