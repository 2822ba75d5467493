"""Memory policies & budgeting: the seed README's snippet, filled in to run.

A strict policy caps how many facts and candidates a packet may consider; a budget caps its
tokens, overall and per section. The budget report and explain say what was cut and why.
"""

from engram import Memory

mem = Memory(in_memory=True)
scope = {"tenant_id": "default", "user_id": "u1", "agent_id": "a1", "session_id": "s1", "run_id": "r1"}

for n in range(12):
    mem.upsert_fact({
        "scope": scope,
        "fact_key": f"preference.{n}",
        "value": f"preference number {n}",
        "text": f"The user's preference {n}: quiet hotels, vegetarian food, window seats and early flights.",
    })
for n in range(30):
    mem.append_event({
        "scope": scope,
        "kind": "message",
        "payload": {"role": "user", "text": f"Message {n} about planning the Lisbon trip and its budget."},
    })

strict_policy = {
    "max_facts": 5,
    "max_total_candidates": 20
}
budget = {
    "max_tokens": 1000,
    "per_section": {"facts": 200}
}
packet = mem.build_memory_packet({
    "scope": scope,
    "purpose": "planner",
    "policy": strict_policy,
    "budget": budget
})

report = packet["budget_report"]
print(f"tokens: {report['used_tokens']} of {report['max_tokens']}")
print(f"facts included: {len(packet['long_term']['facts'])} (max_facts 5), "
      f"{report['section_usage'].get('facts', 0)} tokens (limit 200)")
print(f"omitted, by reason: {report['omissions']}")
assert len(packet["long_term"]["facts"]) <= 5
assert report["used_tokens"] <= 1000
