"""The `engram demo` dataset: a travel assistant helping one user over three sessions.

Session 1 (two weeks ago) sets up a Lisbon trip, session 2 (last week) books flights and a
hotel and moves the dates, session 3 (today, the current run) plans the arrival evening.
Every timestamp is fixed relative to `NOW`, so the demo's packets are the same on every run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

from engram._engram import Memory
from engram.types import BuildRequest, EventInput, Scope

NOW = datetime(2026, 5, 2, 18, 0, tzinfo=timezone.utc)

TENANT, USER, AGENT = "acme-travel", "maria", "trip-planner"


def scope(session: int) -> Scope:
    return {
        "tenant_id": TENANT,
        "user_id": USER,
        "agent_id": AGENT,
        "session_id": f"session-{session}",
        "run_id": f"session-{session}-run-1",
    }


CURRENT = scope(3)

# (session, minutes before NOW, kind, payload, tags)
_CONVERSATION: List[tuple[int, int, str, Dict[str, Any], List[str]]] = [
    # Session 1: two weeks ago, the trip takes shape.
    (1, 20160, "message", {"role": "user", "text": "Hi! I'm planning a trip to Lisbon in May, around the 12th to the 18th."}, ["trip"]),
    (1, 20159, "message", {"role": "assistant", "text": "Lovely. Who is travelling, and do you have a budget in mind?"}, []),
    (1, 20157, "message", {"role": "user", "text": "Just me. Budget is about 2000 euros all in. I'm vegetarian and allergic to peanuts."}, ["diet", "budget"]),
    (1, 20156, "message", {"role": "assistant", "text": "Noted: vegetarian, peanut allergy, 2000 EUR. Any preference for the neighbourhood?"}, []),
    (1, 20154, "message", {"role": "user", "text": "Somewhere walkable with character. I loved the old town feel in Porto."}, ["hotel"]),
    (1, 20150, "tool_call", {"tool": "search_flights", "arguments": {"from": "BER", "to": "LIS", "depart": "2026-05-12"}}, ["flight"]),
    (1, 20149, "tool_result", {"tool": "search_flights", "result": {"cheapest": "TP 537, 289 EUR", "direct": True}}, ["flight"]),
    (1, 20148, "message", {"role": "assistant", "text": "Direct TAP flight TP 537 from Berlin is 289 EUR return. Shall I hold it?"}, ["flight"]),
    (1, 20146, "message", {"role": "user", "text": "Not yet, let me check the dates with work first."}, []),
    # Session 2: last week, dates move, bookings happen.
    (2, 10080, "message", {"role": "user", "text": "Work moved things: I can fly on the 14th and come back on the 20th instead."}, ["trip", "dates"]),
    (2, 10079, "message", {"role": "assistant", "text": "Updated to 14-20 May. TP 537 on the 14th is 305 EUR return. Book it?"}, ["flight"]),
    (2, 10078, "message", {"role": "user", "text": "Yes please, window seat if possible."}, ["flight"]),
    (2, 10076, "tool_call", {"tool": "book_flight", "arguments": {"flight": "TP 537", "date": "2026-05-14", "seat": "window"}}, ["flight"]),
    (2, 10075, "tool_result", {"tool": "book_flight", "result": {"confirmation": "TP-7Q2XK", "seat": "23A", "arrives": "2026-05-14T17:40+01:00"}}, ["flight"]),
    (2, 10070, "message", {"role": "user", "text": "Now a hotel. Alfama looks charming, under 140 a night if we can."}, ["hotel"]),
    (2, 10068, "tool_call", {"tool": "search_hotels", "arguments": {"area": "Alfama", "max_price": 140, "nights": 6}}, ["hotel"]),
    (2, 10067, "tool_result", {"tool": "search_hotels", "result": {"best": "Memmo Alfama, 132 EUR/night, rooftop terrace"}}, ["hotel"]),
    (2, 10065, "message", {"role": "user", "text": "Memmo Alfama is perfect, book it."}, ["hotel"]),
    (2, 10064, "tool_result", {"tool": "book_hotel", "result": {"confirmation": "MEMMO-55821", "check_in": "2026-05-14"}}, ["hotel"]),
    # Session 3: today, the current run.
    (3, 30, "message", {"role": "user", "text": "I land on the 14th in the evening. Can you plan that first night? Something relaxed."}, ["itinerary"]),
    (3, 29, "message", {"role": "assistant", "text": "Sure. You arrive 17:40; check-in at Memmo Alfama, then dinner nearby. Any cuisine wishes?"}, []),
    (3, 27, "message", {"role": "user", "text": "Vegetarian Portuguese food would be amazing, and maybe a viewpoint at sunset."}, ["diet", "itinerary"]),
    (3, 26, "tool_call", {"tool": "search_restaurants", "arguments": {"near": "Alfama", "diet": "vegetarian", "date": "2026-05-14"}}, ["dinner"]),
    (3, 25, "tool_result", {"tool": "search_restaurants", "result": {"options": ["Ao 26 Vegan Food Project", "Jardim das Cerejas", "Tasca Kome"]}}, ["dinner"]),
]


def events() -> List[EventInput]:
    out: List[EventInput] = []
    for index, (session, minutes, kind, payload, tags) in enumerate(_CONVERSATION):
        out.append(
            {
                "scope": scope(session),
                "event_id": f"evt-s{session}-{index:02d}",
                "ts": NOW - timedelta(minutes=minutes),
                "kind": kind,  # type: ignore[typeddict-item]
                "payload": payload,
                "tags": tags,
                "entities": ["Lisbon"] if "Lisbon" in str(payload) or session > 1 else [],
                "importance": 0.7 if kind == "message" and payload.get("role") == "user" else 0.5,
            }
        )
    return out


def ingest(mem: Memory) -> None:
    """Writes the whole story: events, facts (one superseded), episodes, a procedure, insights,
    the current run's working state and the session's short-term state."""
    mem.append_events(events())

    def at(minutes: int) -> datetime:
        return NOW - timedelta(minutes=minutes)

    facts: List[Dict[str, Any]] = [
        {"fact_id": "fact-user-diet", "fact_key": "user.diet", "value": "vegetarian", "text": "Maria is vegetarian.", "importance": 0.9,
         "sources": ["evt-s1-02"], "tags": ["diet"], "recorded_at": at(20157)},
        {"fact_id": "fact-user-allergies", "fact_key": "user.allergies", "value": ["peanuts"], "text": "Maria is allergic to peanuts.",
         "importance": 1.0, "confidence": 0.95, "sources": ["evt-s1-02"], "tags": ["diet"], "recorded_at": at(20157)},
        {"fact_id": "fact-trip-budget-eur", "fact_key": "trip.budget_eur", "value": 2000, "text": "Trip budget: about 2000 EUR all in.",
         "sources": ["evt-s1-02"], "tags": ["budget"], "recorded_at": at(20157)},
        {"fact_id": "fact-trip-dates-v1", "fact_key": "trip.dates", "value": {"from": "2026-05-12", "to": "2026-05-18"},
         "text": "Lisbon trip: 12-18 May.", "sources": ["evt-s1-00"], "tags": ["trip"], "recorded_at": at(20160)},
        {"fact_id": "fact-user-neighbourhood", "fact_key": "user.neighbourhood", "value": "walkable, old-town character",
         "text": "Maria likes walkable neighbourhoods with old-town character.", "sources": ["evt-s1-04"],
         "tags": ["hotel"], "recorded_at": at(20154)},
        # The dates moved: this write supersedes the first one (kept as history).
        {"fact_id": "fact-trip-dates-v2", "fact_key": "trip.dates", "value": {"from": "2026-05-14", "to": "2026-05-20"},
         "text": "Lisbon trip: 14-20 May (moved from 12-18).", "sources": ["evt-s2-09"], "tags": ["trip", "dates"],
         "importance": 0.8, "recorded_at": at(10080)},
        {"fact_id": "fact-booking-flight", "fact_key": "booking.flight", "value": {"flight": "TP 537", "confirmation": "TP-7Q2XK", "seat": "23A"},
         "text": "Flight TP 537 Berlin-Lisbon on 14 May, arrives 17:40, seat 23A (conf. TP-7Q2XK).",
         "sources": ["evt-s2-13"], "tags": ["flight"], "importance": 0.8, "recorded_at": at(10075)},
        {"fact_id": "fact-booking-hotel", "fact_key": "booking.hotel", "value": {"hotel": "Memmo Alfama", "confirmation": "MEMMO-55821"},
         "text": "Hotel: Memmo Alfama, 14-20 May, 132 EUR/night (conf. MEMMO-55821).",
         "sources": ["evt-s2-18"], "tags": ["hotel"], "importance": 0.8, "recorded_at": at(10064)},
        {"fact_id": "fact-user-seat", "fact_key": "user.seat", "value": "window", "text": "Maria prefers window seats.",
         "sources": ["evt-s2-11"], "tags": ["flight"], "importance": 0.4, "recorded_at": at(10078)},
    ]
    for fact in facts:
        mem.upsert_fact({"scope": CURRENT, "entities": ["Lisbon"], **fact})  # type: ignore[typeddict-item]

    mem.append_episode({
        "scope": scope(1), "episode_id": "ep-session-1", "start_ts": at(20160), "end_ts": at(20146),
        "summary": "Maria started planning a solo Lisbon trip (vegetarian, peanut allergy, ~2000 EUR); "
                   "found a direct TAP flight from Berlin but held off to confirm dates.",
        "highlights": ["solo trip", "TP 537 direct, 289 EUR"], "tags": ["trip"], "entities": ["Lisbon"],
        "sources": ["evt-s1-00", "evt-s1-07"], "importance": 0.6,
    })
    mem.append_episode({
        "scope": scope(2), "episode_id": "ep-session-2", "start_ts": at(10080), "end_ts": at(10064),
        "summary": "Dates moved to 14-20 May; booked TP 537 (seat 23A) and Memmo Alfama for six nights.",
        "highlights": ["flight TP-7Q2XK", "hotel MEMMO-55821"], "tags": ["flight", "hotel"],
        "entities": ["Lisbon"], "sources": ["evt-s2-13", "evt-s2-18"], "importance": 0.7,
    })
    mem.upsert_procedure({
        "scope": CURRENT, "procedure_id": "proc-restaurant", "task_type": "restaurant_booking",
        "title": "Recommend a restaurant",
        "steps": [
            "Check diet and allergy facts before suggesting anything",
            "Search near the hotel or the planned area, within walking distance",
            "Prefer places open at the planned time; give two options with a short reason each",
            "Offer to book and note the confirmation as a fact",
        ],
        "applicability": "Any request for food, dinner or restaurants", "priority": 0.8,
        "tags": ["dinner"], "updated_at": at(30000),
    })
    mem.upsert_procedure({
        "scope": CURRENT, "procedure_id": "proc-arrival", "task_type": "itinerary",
        "title": "Plan an arrival evening",
        "steps": ["Allow 90 minutes from landing to hotel", "Keep the first evening light and close to the hotel"],
        "priority": 0.6, "tags": ["itinerary"], "updated_at": at(30000),
    })
    mem.append_insight({
        "scope": CURRENT, "insight_id": "ins-walkable", "kind": "pattern", "validation": "validated",
        "text": "Maria picks places she can walk to; avoid suggesting taxis for short hops.",
        "confidence": 0.8, "tags": ["itinerary"], "created_at": at(28),
    })
    mem.append_insight({
        "scope": CURRENT, "insight_id": "ins-fado", "kind": "hypothesis",
        "text": "Maria might enjoy a fado evening in Alfama later in the week.", "confidence": 0.4,
        "tags": ["itinerary"], "created_at": at(27),
    })
    mem.patch_working_state({
        "scope": CURRENT, "goal": "Plan a relaxed first evening in Lisbon on 14 May",
        "plan": ["Confirm arrival and transfer time", "Pick a vegetarian dinner near Memmo Alfama",
                 "Suggest a sunset viewpoint within walking distance"],
        "slots": {"arrival": "2026-05-14T17:40+01:00", "hotel": "Memmo Alfama", "party_size": 1},
        "constraints": ["vegetarian", "no peanuts", "walkable"],
        "decisions": ["Dinner around 20:00 after check-in"],
        "open_loops": ["Does Maria want a table booked or just suggestions?"],
        "updated_at": at(25),
    })
    mem.update_stm({
        "scope": CURRENT,
        "rolling_summary": "Maria lands 14 May at 17:40 and wants a relaxed first evening: vegetarian "
                           "Portuguese dinner near Memmo Alfama and a sunset viewpoint.",
        "key_quotes": ["Something relaxed.", "Vegetarian Portuguese food would be amazing"],
        "updated_at": at(25),
    })


def planner_request() -> BuildRequest:
    return {
        "scope": CURRENT,
        "purpose": "planner",
        "task_type": "restaurant_booking",
        "query": "plan the first evening in Lisbon: vegetarian dinner near the hotel and a sunset viewpoint",
        "cues": {"tags": ["dinner", "itinerary"], "entities": ["Lisbon"]},
        "policy": {"policy_id": "demo-planner", "max_facts": 6},
        "budget": {"max_tokens": 700, "per_section": {"conversation_window": 220, "facts": 150}},
        "now": NOW,
    }


def responder_request() -> BuildRequest:
    return {
        "scope": CURRENT,
        "purpose": "responder",
        "query": "which vegetarian restaurant near Alfama for dinner, no peanuts",
        "cues": {"tags": ["dinner", "diet"]},
        "budget": {"max_tokens": 450, "per_section": {"recall": 60}},
        "now": NOW,
    }
