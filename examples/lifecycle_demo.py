"""The memory lifecycle, as in the README: promote, end a run, sweep, forget, export, purge, import."""

from engram import Memory

mem = Memory(in_memory=True)
scope = {"tenant_id": "acme", "user_id": "u1", "agent_id": "support",
         "session_id": "s1", "run_id": "r1"}
mem.append_insight({"scope": scope, "insight_id": "i1", "text": "the customer prefers email"})
mem.promote_insight({"scope": scope, "insight_id": "i1", "to": "fact", "fact_key": "contact.channel"})
mem.end_run(scope)                                   # unpromoted insights expire, working state ends
mem.sweep_expired({"retention": {"max_events_per_session": 500}})
mem.forget({"scope": scope, "tags": ["promo"]})
mem.export_scope(scope, "u1.jsonl")
receipt = mem.purge_user("acme", "u1")               # {"rows": {"facts": 1, "insights": 1, ...}}
mem.import_scope("u1.jsonl")                          # same records, same packets

facts = mem.list_facts({"scope": scope})
print(receipt["rows"]["facts"], [fact["fact_key"] for fact in facts])
