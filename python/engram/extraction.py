"""Extractors for `Memory.extract_facts`: callables that read a session's new message events and
return the facts they state.

`RuleExtractor` is deterministic (regular expressions; for tests and for facts with a fixed
shape). `ChatModelExtractor` asks a chat model behind an OpenAI-compatible
`POST {base_url}/chat/completions` (DeepSeek, OpenAI, a local server) for JSON, with the standard
library only. Any other callable `(events) -> list[dict]` works the same way.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any, Dict, List, Optional, Pattern, Sequence, Tuple, Union

from .types import Event, ExtractedFact

__all__ = ["ChatModelExtractor", "RuleExtractor"]


class RuleExtractor:
    """Facts from regular expressions: each rule is `(pattern, fact_key)`, and every match's
    `value` group (else the last group, else the whole match) becomes the value of `fact_key`,
    sourced from the event it matched in. Later events win: for a key matched twice, the newest
    value is the one returned, so a change in one batch supersedes too."""

    def __init__(self, rules: Sequence[Tuple[Union[str, Pattern[str]], str]], *, confidence: float = 0.9) -> None:
        self.rules = [(re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else pattern, key)
                      for pattern, key in rules]
        self.confidence = confidence

    def __call__(self, events: List[Event]) -> List[ExtractedFact]:
        found: Dict[str, ExtractedFact] = {}
        for event in events:
            for pattern, key in self.rules:
                for match in pattern.finditer(event["text"]):
                    value = _matched_value(match).strip(" .,;:!?\"'")
                    if value:
                        found.pop(key, None)
                        found[key] = {"fact_key": key, "value": value, "confidence": self.confidence,
                                      "sources": [event["event_id"]]}
        return list(found.values())


def _matched_value(match: "re.Match[str]") -> str:
    if "value" in match.re.groupindex:
        return match.group("value") or ""
    if match.re.groups:
        return match.group(match.re.groups) or ""
    return match.group(0)


EXTRACTION_PROMPT = """You extract durable facts about the user from a conversation, for an agent's memory.
Return JSON: {"facts": [{"fact_key": "...", "value": "...", "confidence": 0.0-1.0, "sources": ["event id", ...]}]}.
- fact_key: a stable dotted name, lower case, such as user.city, user.diet, user.employer, user.language.
  Use the same key when a value changes (the new value replaces the old).
- value: short, as the user would say it (a string, number or boolean).
- sources: the ids (in brackets) of the messages that state the fact.
- Only facts the user states about themselves and that will still hold later; no guesses, no
  plans for today, nothing the assistant said. Return {"facts": []} when there are none."""


class ChatModelExtractor:
    """Asks a chat model behind an OpenAI-compatible endpoint for the facts in the events, in JSON
    mode (`response_format: json_object`, which DeepSeek and OpenAI support). A reply that is not
    the JSON asked for raises `ValueError`: `extract_facts` then writes nothing and sends the
    same events next time."""

    def __init__(self, base_url: str, api_key: str, model: str, *, timeout: float = 60.0,
                 prompt: str = EXTRACTION_PROMPT, known_keys: Optional[Sequence[str]] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.timeout = timeout
        self.prompt = prompt
        self.known_keys = list(known_keys or [])

    def messages(self, events: List[Event]) -> List[Dict[str, str]]:
        """The chat the model is sent: the instructions, then the conversation with event ids."""
        lines = [f"[{event['event_id']}] {event.get('role') or 'user'}: {event['text']}" for event in events]
        instructions = self.prompt
        if self.known_keys:
            instructions += "\nKeys already in memory (reuse them when the fact is the same): " + ", ".join(
                self.known_keys)
        return [{"role": "system", "content": instructions}, {"role": "user", "content": "\n".join(lines)}]

    def __call__(self, events: List[Event]) -> List[ExtractedFact]:
        body: Dict[str, Any] = {"model": self.model, "messages": self.messages(events),
                                "response_format": {"type": "json_object"}, "temperature": 0}
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            completion = json.load(response)
        content = completion["choices"][0]["message"].get("content") or ""
        try:
            reply = json.loads(content)
        except json.JSONDecodeError as error:
            raise ValueError(f"the model did not reply with JSON: {content[:200]!r}") from error
        facts = reply.get("facts") if isinstance(reply, dict) else None
        if not isinstance(facts, list):
            raise ValueError(f'the model\'s JSON has no "facts" list: {content[:200]!r}')
        sent = {event["event_id"] for event in events}
        return [fact for fact in (_cleaned(item, sent) for item in facts) if fact is not None]


def _cleaned(item: Any, sent: "set[str]") -> Optional[ExtractedFact]:
    """A model's fact as `extract_facts` takes it, or None: models add keys, invent event ids
    and drift out of range, and one such slip must not block a session's extraction for good."""
    if not isinstance(item, dict) or not isinstance(item.get("fact_key"), str) or "value" not in item:
        return None
    fact: ExtractedFact = {"fact_key": item["fact_key"].strip(), "value": item["value"]}
    confidence = item.get("confidence")
    if isinstance(confidence, (int, float)) and not isinstance(confidence, bool):
        fact["confidence"] = min(max(float(confidence), 0.0), 1.0)
    sources = item.get("sources")
    if isinstance(sources, list):
        fact["sources"] = [source for source in sources if isinstance(source, str) and source in sent]
    return fact if fact["fact_key"] else None
