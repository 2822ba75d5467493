"""Retrieval quality of engram's memory packets, against plain BM25 and plain embedding ranking.

    .venv/bin/python python/scripts/eval_retrieval.py --dataset madial --embedder none
    .venv/bin/python python/scripts/eval_retrieval.py --dataset madial --embedder local --json target/retrieval.json
    .venv/bin/python python/scripts/eval_retrieval.py --dataset realmem --limit 120
    .venv/bin/python python/scripts/eval_retrieval.py --dataset my_data.jsonl --limit 50

Dataset (``--dataset PATH.jsonl``): one JSON object per line, of two types.

    {"type": "turn", "conversation": str, "session": str, "id": str, "time": RFC3339,
     "speaker": str, "text": str}
    {"type": "question", "conversation": str, "id": str, "time": RFC3339, "query": str,
     "evidence": [turn ids],
     "session": str, "before": turn id, "category": str, "evidence_sessions": [session ids]}

Turn ids are unique within their conversation, question ids within the dataset; a turn's order is
its position among its conversation's turns in the file. Every evidence id names a turn of the
question's conversation. The last four question fields are optional:

* ``session``: the session the question is asked from, whose earlier turns are then its
  conversation window (default: a fresh session of its own, ``question-<id>``);
* ``before``: a turn of its conversation; memory is the turns before it (default: all of them);
* ``category``: its group in the per-category figures (default: none; a dataset with no
  category reports one group, "all");
* ``evidence_sessions``: the sessions holding its evidence (default: the sessions of its
  evidence turns); with these, ``evidence`` may be empty.

A question's ``time`` may be left out (the latest turn time of its memory is used).
``--dataset madial`` converts MADial-Bench (``madial-bench/`` in the shared data directory,
or ``--madial-dir``): each of the 160 memories becomes a turn (text: the event; time: its date at
noon UTC; speaker: the first dialogue speaker named in it, else "memory"; one session per date),
the archive is ingested once per MADial user (a conversation, ``user-<id>``), and each dialogue
becomes a question asked the day after the newest memory: its query is the dialogue's lines
before its (first) test turn, ``<BOD>`` dropped, speaker tags kept; its evidence the relevant ids.
``--dataset realmem`` converts RealMem (``realmem/realmem_dev.jsonl`` in the shared data
directory, or ``--realmem-path``; its README gives the shape): a conversation per user, its
sessions' turns in the file's order (time: the session's date at noon UTC plus the turn's index
in the session, in seconds); each question (id ``<user>/<id>``) is asked at its own turn
(``turn_id``: memory is the turns before it) from its session (``session_id``), at its date at
noon UTC plus its turn's index in seconds, keeping ``category`` and ``evidence_sessions``.
``--write-dataset OUT.jsonl`` writes the dataset in the format above.

Shared data: ``$ENGRAM_SHARED_DATA`` when set, else ``shared/data`` beside the repository
(``<repository>/../shared/data``); nothing depends on where this machine keeps it.

How engram is run (public API only): one ``Memory`` (in memory, or ``--store sqlite`` in a temp
file), tenant ``eval``, one ``user_id`` per conversation and one ``session_id`` per session; each
turn is a ``message`` event ``{"role": "user", "text": text, "name": speaker}`` with event id
``<conversation>:<turn id>``. A conversation is ingested incrementally: its turns are appended in
bulk up to the memory of its next question (in order of memory), which is then asked: from its
session (else a fresh session of its user, so turns come back through the long-term ``recall``
section), ``purpose`` responder, ``query`` the question, ``now`` its time, for each budget in
``--budgets``. With ``--embedder local``, every text is embedded once, with ``LocalEmbedder``: every
event carries its ``embedding`` and every request its ``query_embedding`` (what
``Memory(embedder=LocalEmbedder())`` would compute, so packets are the same, and packet latency leaves
the query's embedding aside, reported as ``embedding_ms``); ``--engram-embeds`` opens engram with
``Memory(embedder=...)`` instead, which embeds every text a second time. When the extension takes no
vectors, engram runs lexical-only and the report says so (``engram_vectors``). The baselines rank the question's memory only (BM25's statistics are over
exactly those turns).

Metrics (means over questions, overall and per category):

* packet recall at budget B (R@B): the fraction of the question's evidence turns found among the
  packet's selected items (``explain.selected[].id``, every section). For the baselines, units
  are taken in ranked order while their cost fits in B, each costing what engram charged for it:
  the event's ``token_count`` (engram's own tokenizer) plus the per-item rendering overhead and
  the section heading, both measured on engram's full-form recall items in this run.
* session recall at budget B (S@B): the fraction of its evidence sessions with at least one
  selected turn.
* recall@k (k = 1, 5, 10): the evidence among the first k of the ranking (``session_recall_at``:
  the same for sessions). engram's ranking is its recall section in ``rank`` order (context turns
  shown beside a hit, ``context_of``, left out) from one more packet per question with
  ``max_recall`` = 10 and a budget of 8192 tokens, so neither cuts the first 10. BM25 ranks the
  turns that share a word with the query (BM25 score above 0); the embedding ranking is every
  turn of the memory by cosine similarity.
* latency: wall time around ``build_memory_packet`` (p50/p95 per budget and over all); for the
  baselines, the time to rank one question's turns (query embedding aside).

Turn-level figures (R@B, recall@k) are means over the questions with evidence turns (RealMem has
questions whose evidence names sessions only); session-level ones over every question.

BM25 is Okapi BM25 (k1 1.2, b 0.75, idf ln(1 + (N - n + 0.5) / (n + 0.5))) over lowercase
alphanumeric words minus engram's English stop words, without stemming (engram stems).
engram runs with its default policy (``--max-recall default``, the default): what users get, so
those figures come first. The default policy holds at most 8 items in the recall section (room
for the other sections of an agent's packet); ``--max-recall N`` overrides that cap, e.g.
``--max-recall 100`` lifts it so that the budget bounds engram as it bounds the baselines. The
report says which (``settings.policy``, and the table's first line): "default policy" or
"max_recall N (lifted)" ("(lowered)" below 8).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from engram import InvalidInputError, Memory

Embedder = Callable[[List[str]], List[List[float]]]

# python/scripts/eval_retrieval.py: the repository is two levels up.
REPOSITORY = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """``$ENGRAM_SHARED_DATA`` when set, else ``shared/data`` beside the repository."""
    override = os.environ.get("ENGRAM_SHARED_DATA")
    return Path(override) if override else REPOSITORY.parent / "shared" / "data"


MADIAL_DIR = shared_data_dir() / "madial-bench"
REALMEM_PATH = shared_data_dir() / "realmem" / "realmem_dev.jsonl"
BUDGETS = (256, 512, 1024, 2048, 4096)
KS = (1, 5, 10)
TENANT = "eval"
AGENT = "eval"
RANKING_BUDGET = 8192
BULK = 1000
# engram's default policy's max_recall (crates/engram-types/src/policy.rs), for the report's label.
POLICY_MAX_RECALL = 8
# `--max-recall 100`: the recall section may fill the budget, as the baselines' rankings do.
LIFTED_MAX_RECALL = 100
# Used for the baselines' costs only when engram selected no full-form recall item to measure.
FALLBACK_ITEM_OVERHEAD = 14
FALLBACK_HEADING = 6

# engram's English stop words (crates/engram-store/src/lexical/analyzer.rs).
STOP_WORDS = frozenset(
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has have "
    "having he her here hers herself him himself his how i if in into is it its itself just me more most "
    "my myself no nor not now of off on once only or other ought our ours ourselves out over own same she "
    "should so some such than that the their theirs them themselves then there these they this those "
    "through to too under until up very was we were what when where which while who whom why will with "
    "would you your yours yourself yourselves s t d ll m re ve".split()
)
WORD = re.compile(r"[^\W_]+")


# --- the dataset ------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One turn. Its order is its position among its conversation's turns in the dataset."""

    conversation: str
    session: str
    id: str
    time: str
    speaker: str
    text: str


@dataclass(frozen=True)
class Question:
    conversation: str
    id: str
    time: Optional[str]
    query: str
    evidence: Tuple[str, ...]
    session: Optional[str] = None
    """The session it is asked from (its earlier turns are the conversation window); None: a fresh one."""
    before: Optional[int] = None
    """Memory is the conversation's turns at positions below this; None: all of them."""
    category: Optional[str] = None
    evidence_sessions: Tuple[str, ...] = ()
    """The sessions holding its evidence; empty: the sessions of the evidence turns."""

    def memory(self, turns: Sequence[Turn]) -> Sequence[Turn]:
        """The turns of its conversation (all of them, in order) that are memory when it is asked."""
        return turns if self.before is None else turns[:self.before]


@dataclass
class Dataset:
    name: str
    turns: List[Turn]
    questions: List[Question]

    def conversations(self) -> Dict[str, List[Turn]]:
        grouped: Dict[str, List[Turn]] = defaultdict(list)
        for turn in self.turns:
            grouped[turn.conversation].append(turn)
        return dict(grouped)

    def sessions_of_turns(self) -> Dict[str, Dict[str, str]]:
        """Per conversation, each turn id's session."""
        sessions: Dict[str, Dict[str, str]] = defaultdict(dict)
        for turn in self.turns:
            sessions[turn.conversation][turn.id] = turn.session
        return dict(sessions)

    def evidence_sessions(self, question: Question, sessions_of_turns: Dict[str, Dict[str, str]]) -> Tuple[str, ...]:
        """The question's evidence sessions, else the sessions of its evidence turns (first seen first)."""
        if question.evidence_sessions:
            return question.evidence_sessions
        sessions = sessions_of_turns[question.conversation]
        return tuple(dict.fromkeys(sessions[id_] for id_ in question.evidence))

    def validate(self) -> None:
        """Raises ValueError on duplicate turn or question ids, a question without evidence, evidence
        naming no turn (or session) of its conversation, or a memory bound beyond its conversation."""
        seen = Counter((turn.conversation, turn.id) for turn in self.turns)
        duplicates = [key for key, count in seen.items() if count > 1]
        if duplicates:
            raise ValueError(f"duplicate turn ids: {duplicates[:5]}")
        asked = Counter(question.id for question in self.questions)
        duplicates_asked = [id_ for id_, count in asked.items() if count > 1]
        if duplicates_asked:
            raise ValueError(f"duplicate question ids: {duplicates_asked[:5]}")
        sessions = {(turn.conversation, turn.session) for turn in self.turns}
        sizes = Counter(turn.conversation for turn in self.turns)
        for question in self.questions:
            if not question.evidence and not question.evidence_sessions:
                raise ValueError(f"question {question.id}: no evidence")
            missing = [id_ for id_ in question.evidence if (question.conversation, id_) not in seen]
            if missing:
                raise ValueError(f"question {question.id}: evidence {missing} names no turn of "
                                 f"conversation {question.conversation!r}")
            missing = [id_ for id_ in question.evidence_sessions if (question.conversation, id_) not in sessions]
            if missing:
                raise ValueError(f"question {question.id}: evidence_sessions {missing} names no session of "
                                 f"conversation {question.conversation!r}")
            if question.before is not None and not 0 <= question.before <= sizes[question.conversation]:
                raise ValueError(f"question {question.id}: before {question.before} is outside its conversation")

    def to_jsonl(self) -> Iterator[str]:
        conversations = self.conversations()
        for turn in self.turns:
            yield json.dumps({"type": "turn", "conversation": turn.conversation, "session": turn.session,
                              "id": turn.id, "time": turn.time, "speaker": turn.speaker, "text": turn.text})
        for question in self.questions:
            row: Dict[str, Any] = {"type": "question", "conversation": question.conversation, "id": question.id,
                                   "time": question.time, "query": question.query,
                                   "evidence": list(question.evidence)}
            turns = conversations.get(question.conversation, [])
            if question.session is not None:
                row["session"] = question.session
            if question.before is not None and question.before < len(turns):
                row["before"] = turns[question.before].id
            if question.category is not None:
                row["category"] = question.category
            if question.evidence_sessions:
                row["evidence_sessions"] = list(question.evidence_sessions)
            yield json.dumps(row)


def load_jsonl(path: Path) -> Dataset:
    """Reads the JSONL format of the module docstring."""
    turns: List[Turn] = []
    rows: List[Tuple[int, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if row["type"] == "turn":
                    turns.append(Turn(str(row["conversation"]), str(row["session"]), str(row["id"]),
                                      str(row["time"]), str(row.get("speaker") or "user"), str(row["text"])))
                elif row["type"] == "question":
                    rows.append((number, row))
                else:
                    raise ValueError(f"unknown type {row['type']!r}")
            except (KeyError, ValueError, TypeError) as error:
                raise ValueError(f"{path}:{number}: {error}") from error
    # `before` names a turn: its position is known once every turn is read.
    positions: Dict[Tuple[str, str], int] = {}
    sizes: Counter[str] = Counter()
    for turn in turns:
        positions.setdefault((turn.conversation, turn.id), sizes[turn.conversation])
        sizes[turn.conversation] += 1
    questions: List[Question] = []
    for number, row in rows:
        try:
            conversation = str(row["conversation"])
            before = None
            if row.get("before") is not None:
                key = (conversation, str(row["before"]))
                if key not in positions:
                    raise ValueError(f"before {row['before']!r} names no turn of conversation {conversation!r}")
                before = positions[key]
            questions.append(Question(conversation, str(row["id"]), row.get("time"), str(row["query"]),
                                      tuple(str(id_) for id_ in row["evidence"]),
                                      session=None if row.get("session") is None else str(row["session"]),
                                      before=before,
                                      category=None if row.get("category") is None else str(row["category"]),
                                      evidence_sessions=tuple(str(id_)
                                                              for id_ in row.get("evidence_sessions") or ())))
        except (KeyError, ValueError, TypeError) as error:
            raise ValueError(f"{path}:{number}: {error}") from error
    dataset = Dataset(path.stem, turns, questions)
    dataset.validate()
    return dataset


def _json_lines(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_madial(directory: Path = MADIAL_DIR) -> Dataset:
    """MADial-Bench (English) as a dataset: see the module docstring."""
    memories: Dict[str, Dict[str, str]] = {}
    for row in _json_lines(directory / "madial_en_memory.json"):
        memories.update({str(key): value for key, value in row.items()})
    dialogues = list(_json_lines(directory / "madial_en_dialogue.json"))
    speakers = sorted({match for dialogue in dialogues for line in dialogue["dialogue"]
                       for match in re.findall(r"^<([^<>]+)>:", line.strip())} - {"Assistant"})
    users = sorted({str(dialogue["user-id"]) for dialogue in dialogues}, key=lambda user: (len(user), user))

    def about(text: str) -> str:
        found = [(match.start(), name) for name in speakers
                 for match in [re.search(rf"\b{re.escape(name)}\b", text)] if match]
        return min(found)[1] if found else "memory"

    turns = [Turn(f"user-{user}", f"day-{memory['time']}", memory_id, f"{memory['time']}T12:00:00Z",
                  about(memory["event"]), memory["event"])
             for user in users for memory_id, memory in memories.items()]
    newest = max(datetime.fromisoformat(memory["time"]) for memory in memories.values())
    asked = (newest + timedelta(days=1)).replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    questions = []
    for index, dialogue in enumerate(dialogues, 1):
        before = dialogue["dialogue"][: min(dialogue["test-turn"])]
        lines = [line.strip() for line in before if line.strip() and line.strip() != "<BOD>"]
        questions.append(Question(f"user-{dialogue['user-id']}", f"dialogue-{index:03d}", asked, "\n".join(lines),
                                  tuple(str(id_) for id_ in dialogue["relevant-id"])))
    dataset = Dataset("madial", turns, questions)
    dataset.validate()
    return dataset


def _noon_plus(date: str, seconds: int) -> str:
    noon = datetime.fromisoformat(date).replace(hour=12, tzinfo=timezone.utc)
    return (noon + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_realmem(path: Path = REALMEM_PATH) -> Dataset:
    """RealMem as a dataset: see the module docstring."""
    turns: List[Turn] = []
    questions: List[Question] = []
    for row in _json_lines(path):
        user = str(row["user"])
        positions: Dict[str, int] = {}
        indexes: Dict[str, int] = {}
        for session in row["sessions"]:
            for index, turn in enumerate(session["turns"]):
                positions[str(turn["id"])] = len(positions)
                indexes[str(turn["id"])] = index
                turns.append(Turn(user, str(session["session_id"]), str(turn["id"]),
                                  _noon_plus(session["date"], index), str(turn["speaker"]), str(turn["text"])))
        for question in row["questions"]:
            turn_id = str(question["turn_id"])
            asked_at = _noon_plus(question["date"], indexes[turn_id])
            questions.append(Question(user, f"{user}/{question['id']}", asked_at, str(question["question"]),
                                      tuple(str(id_) for id_ in question["evidence"]),
                                      session=str(question["session_id"]), before=positions[turn_id],
                                      category=str(question["category"]),
                                      evidence_sessions=tuple(str(id_) for id_ in question["evidence_sessions"])))
    dataset = Dataset("realmem", turns, questions)
    dataset.validate()
    return dataset


def load_dataset(spec: str, madial_dir: Path = MADIAL_DIR, realmem_path: Path = REALMEM_PATH) -> Dataset:
    if spec == "madial":
        return load_madial(madial_dir)
    if spec == "realmem":
        return load_realmem(realmem_path)
    return load_jsonl(Path(spec))


def asking_order(questions: Sequence[Question]) -> Dict[str, List[Tuple[int, Question]]]:
    """Per conversation, its questions (with their index in ``questions``) by how much memory they see."""
    order: Dict[str, List[Tuple[int, Question]]] = defaultdict(list)
    for number, question in enumerate(questions):
        order[question.conversation].append((number, question))
    return {conversation: sorted(asked, key=lambda pair: (math.inf if pair[1].before is None else pair[1].before,
                                                         pair[0]))
            for conversation, asked in order.items()}


# --- baselines --------------------------------------------------------------------------


def words(text: str) -> List[str]:
    """Lowercase alphanumeric words, engram's stop words and over-long words left out."""
    return [word for word in WORD.findall(text.lower()) if word not in STOP_WORDS and len(word.encode()) <= 48]


class BM25:
    """Okapi BM25 over documents added in order; its statistics cover exactly the documents added so
    far (each tokenized once, when added)."""

    def __init__(self, documents: Iterable[Tuple[str, str]] = (), k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.ids: List[str] = []
        self.frequencies: List[Counter[str]] = []
        self.lengths: List[int] = []
        self.total_length = 0
        self.document_frequency: Counter[str] = Counter()
        self.postings: Dict[str, List[int]] = defaultdict(list)
        self.add(documents)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, documents: Iterable[Tuple[str, str]]) -> None:
        for id_, text in documents:
            frequency = Counter(words(text))
            for term in frequency:
                self.postings[term].append(len(self.ids))
            self.document_frequency.update(frequency.keys())
            self.ids.append(id_)
            self.frequencies.append(frequency)
            self.lengths.append(sum(frequency.values()))
            self.total_length += self.lengths[-1]

    def idf(self, term: str) -> float:
        count, n = len(self.ids), self.document_frequency[term]
        return math.log(1 + (count - n + 0.5) / (n + 0.5))

    def _scored(self, query: str) -> Dict[int, float]:
        """The score of every document sharing a word with the query (all above 0)."""
        average = self.total_length / len(self.lengths) if self.lengths else 0.0
        scores: Dict[int, float] = {}
        for term in sorted(set(words(query))):  # a fixed order: float sums, hence ties, never vary by run
            if not self.document_frequency[term]:
                continue
            idf = self.idf(term)
            for index in self.postings[term]:
                frequency = self.frequencies[index][term]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / average) if average else self.k1
                scores[index] = scores.get(index, 0.0) + idf * frequency * (self.k1 + 1) / (frequency + norm)
        return scores

    def scores(self, query: str) -> List[float]:
        scored = self._scored(query)
        return [scored.get(index, 0.0) for index in range(len(self.ids))]

    def rank(self, query: str) -> List[str]:
        """Ids of the documents sharing a word with the query, best first (ties: document order)."""
        scored = self._scored(query)
        return [self.ids[index] for index in sorted(scored, key=lambda index: (-scored[index], index))]


def vector_norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(value * value for value in vector)) or 1.0


def cosine_rank(query: Sequence[float], documents: Sequence[Tuple[str, Sequence[float]]],
                norms: Optional[Sequence[float]] = None) -> List[str]:
    """Every document id, most similar first (ties: document order); ``norms``: the documents'
    ``vector_norm``, when known."""
    query_norm = vector_norm(query)
    scored = []
    for index, (_, vector) in enumerate(documents):
        norm = norms[index] if norms is not None else vector_norm(vector)
        scored.append((sum(a * b for a, b in zip(query, vector)) / (query_norm * norm), index))
    return [documents[index][0] for _, index in sorted(scored, key=lambda pair: (-pair[0], pair[1]))]


def fill_budget(ranking: Sequence[str], costs: Dict[str, int], budget: int, heading: int) -> List[str]:
    """The ranked ids taken in order while their costs (plus the heading, once) fit the budget."""
    taken: List[str] = []
    used = heading
    for id_ in ranking:
        if used + costs[id_] > budget:
            break
        taken.append(id_)
        used += costs[id_]
    return taken


# --- metrics ----------------------------------------------------------------------------


def evidence_recall(found: Iterable[str], evidence: Sequence[str]) -> float:
    found = set(found)
    return sum(1 for id_ in evidence if id_ in found) / len(evidence)


def session_recall(found: Iterable[str], sessions: Sequence[str], sessions_of_turns: Dict[str, str]) -> float:
    """The fraction of ``sessions`` with at least one of the found turns (ids naming no turn ignored)."""
    covered = {sessions_of_turns[id_] for id_ in found if id_ in sessions_of_turns}
    return sum(1 for session in sessions if session in covered) / len(sessions)


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def latency(values_ms: Sequence[float]) -> Dict[str, float]:
    return {"p50_ms": round(percentile(values_ms, 50), 3), "p95_ms": round(percentile(values_ms, 95), 3)}


def mean(values: Iterable[Optional[float]]) -> Optional[float]:
    """The mean of the values that are not None, to 4 places (None when there are none)."""
    present = [value for value in values if value is not None]
    return round(statistics.fmean(present), 4) if present else None


def category_of(question: Question, categorized: bool) -> str:
    """Its category; "all" when no question of the run has one, "uncategorized" when only others do."""
    if not categorized:
        return "all"
    return question.category if question.category is not None else "uncategorized"


@dataclass
class SystemResult:
    """One system's per-question results, filled question by question."""

    packets: Dict[str, Dict[int, List[str]]] = field(default_factory=dict)
    rankings: Dict[str, List[str]] = field(default_factory=dict)
    latencies_ms: Dict[str, Dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    """Per question, per budget (0: a baseline's ranking) the time taken."""

    def question_metrics(self, question: Question, budgets: Sequence[int], ks: Sequence[int],
                         evidence_sessions: Sequence[str], sessions_of_turns: Dict[str, str]) -> Dict[str, Any]:
        """Turn-level values are None for a question whose evidence names sessions only."""

        def turns(found: Sequence[str]) -> Optional[float]:
            return evidence_recall(found, question.evidence) if question.evidence else None

        def sessions(found: Sequence[str]) -> float:
            return session_recall(found, evidence_sessions, sessions_of_turns)

        packets, ranking = self.packets[question.id], self.rankings[question.id]
        return {
            "packet_recall": {str(budget): turns(packets[budget]) for budget in budgets},
            "recall_at": {str(k): turns(ranking[:k]) for k in ks},
            "session_recall": {str(budget): sessions(packets[budget]) for budget in budgets},
            "session_recall_at": {str(k): sessions(ranking[:k]) for k in ks},
        }

    def aggregate(self, questions: Sequence[Question], per_question: Sequence[Dict[str, Any]],
                  budgets: Sequence[int], ks: Sequence[int]) -> Dict[str, Any]:
        """Means over the questions (turn-level ones over those with evidence turns) and latencies."""
        by_budget: Dict[int, List[float]] = defaultdict(list)
        for question in questions:
            for budget, elapsed_ms in self.latencies_ms[question.id].items():
                by_budget[budget].append(elapsed_ms)
        everything = [value for values in by_budget.values() for value in values]
        return {
            "questions": len(questions),
            "questions_with_evidence_turns": sum(1 for question in questions if question.evidence),
            **{metric: {key: mean(values[metric][key] for values in per_question) for key in map(str, keys)}
               for metric, keys in (("packet_recall", budgets), ("recall_at", ks), ("session_recall", budgets),
                                    ("session_recall_at", ks))},
            "latency_ms": {str(budget): latency(values) for budget, values in sorted(by_budget.items())},
            **latency(everything),
        }

    def summary(self, questions: Sequence[Question], budgets: Sequence[int], ks: Sequence[int],
                evidence_sessions: Dict[str, Tuple[str, ...]],
                sessions_of_turns: Dict[str, Dict[str, str]]) -> Dict[str, Any]:
        per_question = [self.question_metrics(question, budgets, ks, evidence_sessions[question.id],
                                              sessions_of_turns[question.conversation])
                        for question in questions]
        categorized = any(question.category is not None for question in questions)
        groups: Dict[str, List[int]] = defaultdict(list)
        for index, question in enumerate(questions):
            groups[category_of(question, categorized)].append(index)
        return {
            **self.aggregate(questions, per_question, budgets, ks),
            "by_category": {category: self.aggregate([questions[index] for index in indexes],
                                                     [per_question[index] for index in indexes], budgets, ks)
                            for category, indexes in sorted(groups.items())},
            "per_question": per_question,
        }


# --- engram -----------------------------------------------------------------------------


def scope(conversation: str, session: str) -> Dict[str, str]:
    return {"tenant_id": TENANT, "user_id": conversation, "agent_id": AGENT, "session_id": session,
            "run_id": session}


def event_id(turn: Turn) -> str:
    return f"{turn.conversation}:{turn.id}"


def open_memory(store: str, directory: Path, embedder: Optional[Embedder]) -> Tuple[Memory, bool]:
    """The store, and whether engram embeds by itself (it took ``embedder=``)."""
    kwargs: Dict[str, Any] = {"in_memory": True} if store == "memory" else {"path": str(directory / "eval.db")}
    if embedder is not None:
        try:
            return Memory(**kwargs, embedder=embedder), True
        except TypeError:  # an extension without `embedder=`: vectors are passed explicitly
            pass
    return Memory(**kwargs), False


def is_unknown_key(error: InvalidInputError, key: str) -> bool:
    return f"{key}: unknown key" in str(error)


@dataclass
class EngramRun:
    result: SystemResult
    token_counts: Dict[Tuple[str, str], int]
    vectors: str
    """How engram got vectors: "none", "embedder" (Memory(embedder=)), "explicit", or "unsupported"."""
    item_overheads: List[int]
    headings: List[int]


class EngramEvaluator:
    """One ``Memory`` that ingests conversations as their questions need them and asks questions."""

    def __init__(self, memory: Memory, mode: str, budgets: Sequence[int], ks: Sequence[int],
                 vectors: Dict[Tuple[str, str], List[float]], query_vectors: Dict[str, List[float]],
                 max_recall: Optional[int], policy: Optional[Dict[str, Any]] = None) -> None:
        self.memory, self.mode = memory, mode
        self.budgets, self.vectors, self.query_vectors = budgets, vectors, query_vectors
        self.policy: Dict[str, Any] = dict(policy or {})
        if max_recall is not None:
            self.policy["max_recall"] = max_recall
        self.ranking_policy = {**self.policy, "max_recall": max(max(ks), max_recall or 0)}
        self.run = EngramRun(SystemResult(), {}, mode, [], [])

    def append(self, turns: Sequence[Turn]) -> None:
        """Appends the turns in bulk (``BULK`` at a time), keeping their token counts."""
        for start in range(0, len(turns), BULK):
            batch = turns[start:start + BULK]
            events: List[Dict[str, Any]] = [{"scope": scope(turn.conversation, turn.session), "kind": "message",
                                             "ts": turn.time, "event_id": event_id(turn),
                                             "payload": {"role": "user", "text": turn.text, "name": turn.speaker}}
                                            for turn in batch]
            if self.mode == "explicit":
                for event, turn in zip(events, batch):
                    event["embedding"] = self.vectors[(turn.conversation, turn.id)]
            try:
                stored = self.memory.append_events(events)  # type: ignore[arg-type]
            except InvalidInputError as error:
                if self.mode != "explicit" or not is_unknown_key(error, "embedding"):
                    raise
                self.mode = self.run.vectors = "unsupported"  # this extension predates vectors: lexical only
                for event in events:
                    del event["embedding"]
                stored = self.memory.append_events(events)  # type: ignore[arg-type]
            for turn, stored_event in zip(batch, stored):
                self.run.token_counts[(turn.conversation, turn.id)] = stored_event["token_count"]

    def ask(self, number: int, question: Question, now: str) -> None:
        """Builds the question's packet at every budget, then its ranking packet; ``number`` rotates
        which budget goes first."""
        result, budgets = self.run.result, self.budgets
        prefix = f"{question.conversation}:"
        session = question.session if question.session is not None else f"question-{question.id}"
        request: Dict[str, Any] = {"scope": scope(question.conversation, session), "purpose": "responder",
                                   "query": question.query, "now": now}
        if self.mode == "explicit":
            request["query_embedding"] = self.query_vectors[question.id]
        result.packets[question.id] = {}
        # The first build of a query warms caches: each budget takes its turn at going first.
        shift = number % len(budgets)
        for budget in [*budgets[shift:], *budgets[:shift], None]:
            sized = {**request, "budget": {"max_tokens": budget or RANKING_BUDGET}}
            if budget is None:
                sized["policy"] = self.ranking_policy
            elif self.policy:
                sized["policy"] = self.policy
            started = time.perf_counter()
            packet = self.memory.build_memory_packet(sized)  # type: ignore[arg-type]
            elapsed_ms = (time.perf_counter() - started) * 1e3
            selected = packet["explain"]["selected"]
            if budget is None:
                recall = sorted((item for item in selected
                                 if item["section"] == "recall" and "context_of" not in item),
                                key=lambda item: item["rank"])
                result.rankings[question.id] = [item["id"].removeprefix(prefix) for item in recall]
                continue
            result.latencies_ms[question.id][budget] = elapsed_ms
            result.packets[question.id][budget] = [item["id"].removeprefix(prefix) for item in selected]
            full = [item for item in selected if item["section"] == "recall" and item["form"] == "full"]
            for item in full:
                count = self.run.token_counts.get((question.conversation, item["id"].removeprefix(prefix)))
                if count is not None:
                    self.run.item_overheads.append(item["tokens"] - count)
            usage = packet["budget_report"]["section_usage"].get("recall")
            if usage is not None and len(full) == sum(1 for item in selected if item["section"] == "recall"):
                self.run.headings.append(usage - sum(item["tokens"] for item in full))


def run_engram(dataset: Dataset, questions: Sequence[Question], budgets: Sequence[int], ks: Sequence[int],
               store: str, embedder: Optional[Embedder], vectors: Dict[Tuple[str, str], List[float]],
               query_vectors: Dict[str, List[float]], max_recall: Optional[int],
               policy: Optional[Dict[str, Any]] = None, engram_embeds: bool = False) -> EngramRun:
    """Each conversation is ingested incrementally: its turns appended in bulk up to the memory of
    its next question, which is then asked."""
    conversations = dataset.conversations()
    with tempfile.TemporaryDirectory(prefix="engram-eval-") as directory:
        memory, self_embedding = open_memory(store, Path(directory), embedder if engram_embeds else None)
        mode = "none" if embedder is None else ("embedder" if self_embedding else "explicit")
        with memory:
            evaluator = EngramEvaluator(memory, mode, budgets, ks, vectors, query_vectors, max_recall, policy)
            for conversation, asked in asking_order(questions).items():
                turns = conversations[conversation]
                ingested = 0
                for number, question in asked:
                    memory_turns = question.memory(turns)
                    evaluator.append(memory_turns[ingested:])
                    ingested = len(memory_turns)
                    latest = max(turn.time for turn in (memory_turns or turns))
                    evaluator.ask(number, question, question.time or latest)
    return evaluator.run


# --- the evaluation ---------------------------------------------------------------------


def run_evaluation(dataset: Dataset, embedder: Optional[Embedder] = None, embedder_name: str = "none",
                   budgets: Sequence[int] = BUDGETS, ks: Sequence[int] = KS, store: str = "memory",
                   limit: Optional[int] = None, max_recall: Optional[int] = None,
                   policy: Optional[Dict[str, Any]] = None, engram_embeds: bool = False) -> Dict[str, Any]:
    """Runs engram and the baselines over the dataset's questions (the first ``limit``); the report."""
    dataset.validate()
    questions = dataset.questions[:limit] if limit is not None else list(dataset.questions)
    conversations = dataset.conversations()
    order = asking_order(questions)
    # Turns after the last question's memory are never memory: they are neither embedded nor ingested.
    memory_sizes = {conversation: len(asked[-1][1].memory(conversations[conversation]))
                    for conversation, asked in order.items()}
    vectors: Dict[Tuple[str, str], List[float]] = {}
    query_vectors: Dict[str, List[float]] = {}
    embed_ms = 0.0
    if embedder is not None:
        started = time.perf_counter()
        turns = [turn for conversation, size in memory_sizes.items() for turn in conversations[conversation][:size]]
        for turn, vector in zip(turns, embedder([turn.text for turn in turns])):
            vectors[(turn.conversation, turn.id)] = vector
        for question, vector in zip(questions, embedder([question.query for question in questions])):
            query_vectors[question.id] = vector
        embed_ms = (time.perf_counter() - started) * 1e3

    engram = run_engram(dataset, questions, budgets, ks, store, embedder, vectors, query_vectors, max_recall, policy,
                        engram_embeds)
    item_overhead = round(statistics.median(engram.item_overheads)) if engram.item_overheads else FALLBACK_ITEM_OVERHEAD
    heading = round(statistics.median(engram.headings)) if engram.headings else FALLBACK_HEADING

    systems: Dict[str, SystemResult] = {"engram": engram.result, "bm25": SystemResult()}
    if embedder is not None:
        systems["embedding"] = SystemResult()
    # The baselines rank a question's memory only: each conversation's index grows question by question.
    for conversation, asked in order.items():
        turns = conversations[conversation]
        index = BM25()
        documents = [(turn.id, vectors[(conversation, turn.id)]) for turn in turns[:memory_sizes[conversation]]
                     ] if embedder is not None else []
        norms = [vector_norm(vector) for _, vector in documents]
        for _, question in asked:
            memory_turns = question.memory(turns)
            index.add((turn.id, turn.text) for turn in memory_turns[len(index):])
            size = len(memory_turns)
            costs = {turn.id: engram.token_counts[(conversation, turn.id)] + item_overhead for turn in memory_turns}
            rankers: Dict[str, Callable[[], List[str]]] = {"bm25": lambda: index.rank(question.query)}
            if embedder is not None:
                rankers["embedding"] = lambda: cosine_rank(query_vectors[question.id], documents[:size], norms[:size])
            for name, rank in rankers.items():
                started = time.perf_counter()
                ranking = rank()
                elapsed_ms = (time.perf_counter() - started) * 1e3
                system = systems[name]
                system.rankings[question.id] = ranking
                system.packets[question.id] = {budget: fill_budget(ranking, costs, budget, heading)
                                               for budget in budgets}
                system.latencies_ms[question.id][0] = elapsed_ms

    sessions_of_turns = dataset.sessions_of_turns()
    evidence_sessions = {question.id: dataset.evidence_sessions(question, sessions_of_turns)
                         for question in questions}
    summaries = {name: system.summary(questions, budgets, ks, evidence_sessions, sessions_of_turns)
                 for name, system in systems.items()}
    for name in ("bm25", "embedding"):
        if name in summaries:
            summaries[name]["latency_ms"] = {"ranking": summaries[name]["latency_ms"].pop("0")}
            for category in summaries[name]["by_category"].values():
                category["latency_ms"] = {"ranking": category["latency_ms"].pop("0")}
    asked_conversations = {question.conversation for question in questions}
    return {
        "kind": "engram_retrieval_eval",
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": dataset.name,
        "conversations": len(asked_conversations),
        "turns": sum(len(conversations[c]) for c in asked_conversations),
        "memory_turns": sum(memory_sizes.values()),
        "categories": sorted({category_of(question, any(q.category is not None for q in questions))
                              for question in questions}),
        "questions": [{"id": question.id, "conversation": question.conversation,
                       "evidence": list(question.evidence),
                       "evidence_sessions": list(evidence_sessions[question.id]),
                       "category": question.category, "session": question.session,
                       "memory_turns": len(question.memory(conversations[question.conversation])),
                       **{name: {"packet": {str(budget): system.packets[question.id][budget] for budget in budgets},
                                 "ranking": system.rankings[question.id][:max(ks)]}
                          for name, system in systems.items()}}
                      for question in questions],
        "settings": {"budgets": list(budgets), "ks": list(ks), "store": store, "embedder": embedder_name,
                     "max_recall": max_recall, "policy": policy_label(max_recall, policy), "limit": limit},
        "engram_vectors": engram.vectors,
        "embedding_ms": round(embed_ms, 1),
        "token_costs": {"item_overhead": item_overhead, "heading": heading,
                        "measured_items": len(engram.item_overheads)},
        "systems": summaries,
    }
def _cell(value: Optional[float], width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def _figures(summary: Dict[str, Any], budgets: Sequence[int], ks: Sequence[int]) -> str:
    return ("".join(_cell(summary["packet_recall"][str(b)], 8) for b in budgets)
            + "".join(_cell(summary["session_recall"][str(b)], 8) for b in budgets)
            + "".join(_cell(summary["recall_at"][str(k)], 7) for k in ks)
            + f"{summary['p50_ms']:>9.2f}{summary['p95_ms']:>9.2f}")


def policy_label(max_recall: Optional[int], policy: Optional[Dict[str, Any]] = None) -> str:
    """How engram's policy was set: "default policy", or "max_recall N (lifted)" (or lowered),
    followed by any other policy keys set with ``--policy``."""
    if policy:
        return f"{policy_label(max_recall)}, policy {json.dumps(policy, sort_keys=True)}"
    if max_recall is None:
        return "default policy"
    change = "lifted" if max_recall > POLICY_MAX_RECALL else "lowered" if max_recall < POLICY_MAX_RECALL else "set"
    return f"max_recall {max_recall} ({change})"


def max_recall_argument(text: str) -> Optional[int]:
    """``--max-recall``: "default" (None: the default policy) or a positive count."""
    if text == "default":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'default' nor a positive count")
    return value


def format_table(report: Dict[str, Any]) -> str:
    budgets, ks = report["settings"]["budgets"], report["settings"]["ks"]
    columns = ("".join(f"{'R@' + str(b):>8}" for b in budgets) + "".join(f"{'S@' + str(b):>8}" for b in budgets)
               + "".join(f"{'r@' + str(k):>7}" for k in ks) + f"{'p50 ms':>9}{'p95 ms':>9}")
    header = f"{'system':<11}" + columns
    lines = [f"{report['dataset']}: {len(report['questions'])} questions, {report['conversations']} conversations, "
             f"{report['turns']} turns ({report['memory_turns']} ingested); embedder "
             f"{report['settings']['embedder']}, engram vectors: {report['engram_vectors']}; "
             f"engram: {report['settings']['policy']}",
             header, "-" * len(header)]
    names = ("engram", "bm25", "embedding")
    for name in names:
        summary = report["systems"].get(name)
        if summary is None:
            lines.append(f"{name:<11}(not run: --embedder none)")
            continue
        lines.append(f"{name:<11}" + _figures(summary, budgets, ks))
    engram = report["systems"]["engram"]["latency_ms"]
    lines.append("engram build latency per budget: " + ", ".join(
        f"{budget} tok p50 {engram[str(budget)]['p50_ms']:.2f} / p95 {engram[str(budget)]['p95_ms']:.2f} ms"
        for budget in budgets))
    lines.append("R@B: evidence turns recalled in a packet of B tokens; S@B: evidence sessions with a turn in it; "
                 "r@k: evidence turns in the first k ranked; baselines' ms: ranking time in Python (query "
                 "embedding aside); baseline items cost engram's token_count + "
                 f"{report['token_costs']['item_overhead']} rendering + {report['token_costs']['heading']} heading")
    width = max(len("category"), *(len(category) for category in report["categories"]))
    category_header = f"{'category':<{width}}{'n':>9}  {'system':<11}" + columns
    lines += ["", "by category (n: questions with evidence turns / questions; R@B and r@k are over the former)",
              category_header, "-" * len(category_header)]
    for category in report["categories"]:
        for number, name in enumerate(name for name in names if name in report["systems"]):
            summary = report["systems"][name]["by_category"][category]
            counts = f"{summary['questions_with_evidence_turns']}/{summary['questions']}" if number == 0 else ""
            label = category if number == 0 else ""
            lines.append(f"{label:<{width}}{counts:>9}  {name:<11}" + _figures(summary, budgets, ks))
    return "\n".join(lines)


def make_embedder(name: str) -> Optional[Embedder]:
    if name == "none":
        return None
    from engram.embeddings import LocalEmbedder

    return LocalEmbedder()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="madial", help="'madial', 'realmem' or a JSONL file (format above)")
    parser.add_argument("--madial-dir", type=Path, default=MADIAL_DIR)
    parser.add_argument("--realmem-path", type=Path, default=REALMEM_PATH)
    parser.add_argument("--embedder", choices=("none", "local"), default="none")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory",
                        help="engram in process memory, or in a temporary SQLite file")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)), help="token budgets, comma-separated")
    parser.add_argument("--max-recall", type=max_recall_argument, default=None,
                        help="'default' (the default: engram's default policy) or a max_recall for engram's "
                             f"policy ({LIFTED_MAX_RECALL}: lifted, the budget bounds recall)")
    parser.add_argument("--engram-embeds", action="store_true",
                        help="open engram with Memory(embedder=...) (embeds every text again) instead of passing vectors")
    parser.add_argument("--policy", type=json.loads, default=None,
                        help="more policy keys for engram, as a JSON object (e.g. '{\"vector_candidates\": 5000}')")
    parser.add_argument("--json", type=Path, default=None, help="write the report (with per-question results) here")
    parser.add_argument("--write-dataset", type=Path, default=None, help="write the dataset as JSONL here")
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset, args.madial_dir, args.realmem_path)
    if args.write_dataset:
        args.write_dataset.write_text("".join(line + "\n" for line in dataset.to_jsonl()), encoding="utf-8")
    budgets = [int(budget) for budget in args.budgets.split(",")]
    report = run_evaluation(dataset, make_embedder(args.embedder), args.embedder, budgets=budgets,
                            store=args.store, limit=args.limit, max_recall=args.max_recall, policy=args.policy,
                            engram_embeds=args.engram_embeds)
    print(format_table(report))
    if report["engram_vectors"] == "unsupported":
        print("note: this engram extension rejects `embedding`; engram ran lexical-only", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
