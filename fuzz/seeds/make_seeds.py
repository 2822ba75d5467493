"""Writes the fuzz targets' seed inputs from a small store of every kind (run with the engram
package installed: `python fuzz/seeds/make_seeds.py fuzz/seeds`)."""
import json, sys, pathlib
from engram import Memory
out = pathlib.Path(sys.argv[1])
scope = {"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "s", "run_id": "r"}
with Memory(in_memory=True) as mem:
    mem.append_events([{"scope": scope, "kind": "message", "event_id": f"e{i}", "ts": f"2026-11-0{i+1}T10:00:00Z",
                        "payload": {"role": ["user", "assistant"][i % 2], "text": f"the shed roof needs cedar {i}"},
                        "tags": ["garden"], "embedding": [0.1, 0.2, 0.3]} for i in range(3)])
    mem.upsert_fact({"scope": scope, "fact_key": "diet", "value": "vegetarian", "tags": ["food"]})
    mem.upsert_fact({"scope": scope, "fact_key": "diet", "value": "vegan"})
    mem.append_episode({"scope": scope, "start_ts": "2026-11-01T10:00:00Z", "end_ts": "2026-11-01T11:00:00Z",
                        "summary": "Planned the shed", "highlights": ["cedar"], "sources": ["e0"]})
    mem.upsert_procedure({"scope": scope, "task_type": "booking", "title": "Book", "steps": ["search", "pay"]})
    mem.append_insight({"scope": scope, "kind": "pattern", "text": "likes cedar", "confidence": 0.6})
    mem.patch_working_state({"scope": scope, "goal": "fix the roof", "plan": ["buy", "nail"], "slots": {"step": 2}})
    mem.update_stm({"scope": scope, "rolling_summary": "about the shed", "key_quotes": ["cedar"]})
    mem.export_scope(scope, out / "import" / "export.jsonl")
lines = (out / "import" / "export.jsonl").read_text().splitlines()
# Seeds of the import target: a selector byte (odd: the target adds the header), then the file.
(out / "import" / "export.jsonl").write_bytes(b"\x00" + "\n".join(lines).encode() + b"\n")
(out / "import" / "lines.jsonl").write_bytes(b"\x01" + "\n".join(lines[1:]).encode() + b"\n")
requests = {
    0: {"scope": scope, "purpose": "responder", "query": "what roof?", "cues": {"tags": ["garden"], "keywords": ["cedar"]},
        "budget": {"max_tokens": 500, "per_section": {"facts": 100}}, "policy": {"recall": True}, "format": "xml",
        "now": "2026-11-05T00:00:00Z"},
    1: {"scope": scope, "kind": "message", "payload": {"role": "user", "text": "hello"}, "tags": ["a"], "importance": 0.5},
    2: {"scope": scope, "fact_key": "diet", "value": {"kind": "vegan"}, "confidence": 0.9},
    9: {"scope": scope, "tags": ["garden"], "kinds": ["event"], "session_only": True},
    18: {"rows": {"events": 3}, "erased": ["pages"]},
}
for selector, value in requests.items():
    (out / "requests" / f"{selector}.json").write_bytes(bytes([selector]) + json.dumps(value).encode())
kinds = {"event": 19, "fact": 20, "episode": 21, "procedure": 22, "insight": 23}
for line in lines[1:]:
    record = json.loads(line)
    kind = record.pop("type", None)
    if kind in kinds:
        (out / "requests" / f"record-{kind}.json").write_bytes(bytes([kinds[kind]]) + json.dumps(record).encode())
print(lines[1][:200])
