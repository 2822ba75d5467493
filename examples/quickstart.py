from engram import Memory

mem = Memory(in_memory=True)
scope = {
    "tenant_id": "default",
    "user_id": "u1",
    "agent_id": "a1",
    "session_id": "s1",
    "run_id": "r1",
}
packet = mem.build_memory_packet({"scope": scope, "purpose": "planner"})
print(packet["meta"]["schema_version"])
