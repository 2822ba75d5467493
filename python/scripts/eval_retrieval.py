"""Retrieval quality of engram's memory packets, against plain BM25 and plain embedding ranking.

    .venv/bin/python python/scripts/eval_retrieval.py --dataset madial --embedder none
    .venv/bin/python python/scripts/eval_retrieval.py --dataset madial --embedder local --json target/retrieval.json
    .venv/bin/python python/scripts/eval_retrieval.py --dataset my_data.jsonl --limit 50

Dataset (``--dataset PATH.jsonl``): one JSON object per line, of two types.

    {"type": "turn", "conversation": str, "session": str, "id": str, "time": RFC3339,
     "speaker": str, "text": str}
    {"type": "question", "conversation": str, "id": str, "time": RFC3339, "query": str,
     "evidence": [turn ids]}

Turn ids are unique within their conversation; every evidence id names a turn of the question's
conversation. A question's ``time`` may be left out (the latest turn time of its conversation is
used). ``--dataset madial`` converts MADial-Bench (``madial-bench/`` in the shared data directory,
or ``--madial-dir``): each of the 160 memories becomes a turn (text: the event; time: its date at
noon UTC; speaker: the first dialogue speaker named in it, else "memory"; one session per date),
the archive is ingested once per MADial user (a conversation, ``user-<id>``), and each dialogue
becomes a question asked the day after the newest memory: its query is the dialogue's lines
before its (first) test turn, ``<BOD>`` dropped, speaker tags kept; its evidence the relevant ids.
``--write-dataset OUT.jsonl`` writes the dataset in the format above.

Shared data: ``$ENGRAM_SHARED_DATA`` when set, else ``shared/data`` beside the repository
(``<repository>/../shared/data``); nothing depends on where this machine keeps it.

How engram is run (public API only): one ``Memory`` (in memory, or ``--store sqlite`` in a temp
file), tenant ``eval``, one ``user_id`` per conversation and one ``session_id`` per session; each
turn is a ``message`` event ``{"role": "user", "text": text, "name": speaker}`` with event id
``<conversation>:<turn id>``, appended in bulk. Each question is asked from a fresh session of
its user (so turns come back through the long-term ``recall`` section), ``purpose`` responder,
``query`` the question, ``now`` its time, for each budget in ``--budgets``. With ``--embedder
local``, engram is opened with ``Memory(embedder=LocalEmbedder())`` when the extension takes it;
else every event carries its ``embedding`` and every request its ``query_embedding``; when the
extension takes neither, engram runs lexical-only and the report says so (``engram_vectors``).

Metrics (means over questions; a question's value is a fraction of its evidence ids):

* packet recall at budget B: the evidence found among the packet's selected items
  (``explain.selected[].id``, every section). For the baselines, units are taken in ranked
  order while their cost fits in B, each costing what engram charged for it: the event's
  ``token_count`` (engram's own tokenizer) plus the per-item rendering overhead and the
  section heading, both measured on engram's full-form recall items in this run.
* recall@k (k = 1, 5, 10): the evidence among the first k of the ranking. engram's ranking is
  its recall section in ``rank`` order (context turns shown beside a hit, ``context_of``, left
  out) from one more packet per question with ``max_recall`` = 10 and a budget of 8192 tokens,
  so neither cuts the first 10. BM25 ranks the turns that share a word with the query (BM25
  score above 0); the embedding ranking is every turn by cosine similarity.
* latency: wall time around ``build_memory_packet`` (p50/p95 per budget and over all); for the
  baselines, the time to rank one question's turns (query embedding aside).

BM25 is Okapi BM25 (k1 1.2, b 0.75, idf ln(1 + (N - n + 0.5) / (n + 0.5))) over lowercase
alphanumeric words minus engram's English stop words, without stemming (engram stems).
engram's default policy holds at most 8 items in the recall section (room for the other sections
of an agent's packet); here the packet serves recall alone, so the harness lifts that cap to
``--max-recall`` (default 100) and the budget bounds engram as it bounds the baselines.
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
BUDGETS = (256, 512, 1024, 2048)
KS = (1, 5, 10)
TENANT = "eval"
AGENT = "eval"
RANKING_BUDGET = 8192
BULK = 1000
# The recall section may fill the budget, as the baselines' rankings do (the policy default is 8).
DEFAULT_MAX_RECALL = 100
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

    def validate(self) -> None:
        """Raises ValueError on duplicate turn ids or evidence naming no turn of its conversation."""
        seen = Counter((turn.conversation, turn.id) for turn in self.turns)
        duplicates = [key for key, count in seen.items() if count > 1]
        if duplicates:
            raise ValueError(f"duplicate turn ids: {duplicates[:5]}")
        for question in self.questions:
            if not question.evidence:
                raise ValueError(f"question {question.id}: no evidence")
            missing = [id_ for id_ in question.evidence if (question.conversation, id_) not in seen]
            if missing:
                raise ValueError(f"question {question.id}: evidence {missing} names no turn of "
                                 f"conversation {question.conversation!r}")

    def to_jsonl(self) -> Iterator[str]:
        for turn in self.turns:
            yield json.dumps({"type": "turn", "conversation": turn.conversation, "session": turn.session,
                              "id": turn.id, "time": turn.time, "speaker": turn.speaker, "text": turn.text})
        for question in self.questions:
            yield json.dumps({"type": "question", "conversation": question.conversation, "id": question.id,
                              "time": question.time, "query": question.query,
                              "evidence": list(question.evidence)})


def load_jsonl(path: Path) -> Dataset:
    """Reads the JSONL format of the module docstring."""
    turns: List[Turn] = []
    questions: List[Question] = []
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
                    questions.append(Question(str(row["conversation"]), str(row["id"]), row.get("time"),
                                              str(row["query"]), tuple(str(id_) for id_ in row["evidence"])))
                else:
                    raise ValueError(f"unknown type {row['type']!r}")
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


def load_dataset(spec: str, madial_dir: Path = MADIAL_DIR) -> Dataset:
    return load_madial(madial_dir) if spec == "madial" else load_jsonl(Path(spec))


# --- baselines --------------------------------------------------------------------------


def words(text: str) -> List[str]:
    """Lowercase alphanumeric words, engram's stop words and over-long words left out."""
    return [word for word in WORD.findall(text.lower()) if word not in STOP_WORDS and len(word.encode()) <= 48]


class BM25:
    """Okapi BM25 over a fixed list of documents."""

    def __init__(self, documents: Sequence[Tuple[str, str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.ids = [id_ for id_, _ in documents]
        self.k1, self.b = k1, b
        self.frequencies = [Counter(words(text)) for _, text in documents]
        self.lengths = [sum(frequency.values()) for frequency in self.frequencies]
        self.average_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        document_frequency: Counter[str] = Counter()
        for frequency in self.frequencies:
            document_frequency.update(frequency.keys())
        count = len(documents)
        self.idf = {term: math.log(1 + (count - n + 0.5) / (n + 0.5)) for term, n in document_frequency.items()}

    def scores(self, query: str) -> List[float]:
        terms = [term for term in set(words(query)) if term in self.idf]
        scores = []
        for frequency, length in zip(self.frequencies, self.lengths):
            norm = self.k1 * (1 - self.b + self.b * length / self.average_length) if self.average_length else self.k1
            scores.append(sum(self.idf[term] * frequency[term] * (self.k1 + 1) / (frequency[term] + norm)
                              for term in terms if term in frequency))
        return scores

    def rank(self, query: str) -> List[str]:
        """Ids of the documents sharing a word with the query, best first (ties: document order)."""
        scored = [(score, index) for index, score in enumerate(self.scores(query)) if score > 0]
        return [self.ids[index] for score, index in sorted(scored, key=lambda pair: (-pair[0], pair[1]))]


def cosine_rank(query: Sequence[float], documents: Sequence[Tuple[str, Sequence[float]]]) -> List[str]:
    """Every document id, most similar first (ties: document order)."""
    query_norm = math.sqrt(sum(value * value for value in query)) or 1.0
    scored = []
    for index, (_, vector) in enumerate(documents):
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
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


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def latency(values_ms: Sequence[float]) -> Dict[str, float]:
    return {"p50_ms": round(percentile(values_ms, 50), 3), "p95_ms": round(percentile(values_ms, 95), 3)}


@dataclass
class SystemResult:
    """One system's per-question results, filled question by question."""

    packets: Dict[str, Dict[int, List[str]]] = field(default_factory=dict)
    rankings: Dict[str, List[str]] = field(default_factory=dict)
    latencies_ms: Dict[int, List[float]] = field(default_factory=lambda: defaultdict(list))

    def summary(self, questions: Sequence[Question], budgets: Sequence[int], ks: Sequence[int]) -> Dict[str, Any]:
        per_question = []
        for question in questions:
            per_question.append({
                "packet_recall": {str(budget): evidence_recall(self.packets[question.id][budget], question.evidence)
                                  for budget in budgets},
                "recall_at": {str(k): evidence_recall(self.rankings[question.id][:k], question.evidence) for k in ks},
            })
        everything = [value for values in self.latencies_ms.values() for value in values]
        return {
            "packet_recall": {str(budget): round(statistics.fmean(q["packet_recall"][str(budget)]
                                                                  for q in per_question), 4) for budget in budgets},
            "recall_at": {str(k): round(statistics.fmean(q["recall_at"][str(k)] for q in per_question), 4)
                          for k in ks},
            "latency_ms": {str(budget): latency(values) for budget, values in sorted(self.latencies_ms.items())},
            **latency(everything),
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


def run_engram(dataset: Dataset, questions: Sequence[Question], budgets: Sequence[int], ks: Sequence[int],
               store: str, embedder: Optional[Embedder], vectors: Dict[Tuple[str, str], List[float]],
               query_vectors: Dict[str, List[float]], max_recall: Optional[int]) -> EngramRun:
    result = SystemResult()
    token_counts: Dict[Tuple[str, str], int] = {}
    item_overheads: List[int] = []
    headings: List[int] = []
    wanted = {question.conversation for question in questions}
    with tempfile.TemporaryDirectory(prefix="engram-eval-") as directory:
        memory, self_embedding = open_memory(store, Path(directory), embedder)
        mode = "none" if embedder is None else ("embedder" if self_embedding else "explicit")
        with memory:
            for conversation, turns in dataset.conversations().items():
                if conversation not in wanted:
                    continue
                for start in range(0, len(turns), BULK):
                    batch = turns[start:start + BULK]
                    events: List[Dict[str, Any]] = [{"scope": scope(turn.conversation, turn.session), "kind": "message", "ts": turn.time,
                               "event_id": event_id(turn),
                               "payload": {"role": "user", "text": turn.text, "name": turn.speaker}}
                              for turn in batch]
                    if mode == "explicit":
                        for event, turn in zip(events, batch):
                            event["embedding"] = vectors[(turn.conversation, turn.id)]
                    try:
                        stored = memory.append_events(events)  # type: ignore[arg-type]
                    except InvalidInputError as error:
                        if mode != "explicit" or not is_unknown_key(error, "embedding"):
                            raise
                        mode = "unsupported"  # this extension predates vectors: lexical only
                        for event in events:
                            del event["embedding"]
                        stored = memory.append_events(events)  # type: ignore[arg-type]
                    for turn, stored_event in zip(batch, stored):
                        token_counts[(turn.conversation, turn.id)] = stored_event["token_count"]
            latest = {conversation: max(turn.time for turn in turns)
                      for conversation, turns in dataset.conversations().items()}
            policy: Dict[str, Any] = {} if max_recall is None else {"max_recall": max_recall}
            ranking_policy = {**policy, "max_recall": max(max(ks), max_recall or 0)}
            for number, question in enumerate(questions):
                prefix = f"{question.conversation}:"
                request: Dict[str, Any] = {"scope": scope(question.conversation, f"question-{question.id}"),
                                           "purpose": "responder", "query": question.query,
                                           "now": question.time or latest[question.conversation]}
                if mode == "explicit":
                    request["query_embedding"] = query_vectors[question.id]
                result.packets[question.id] = {}
                # The first build of a query warms caches: each budget takes its turn at going first.
                shift = number % len(budgets)
                for budget in [*budgets[shift:], *budgets[:shift], None]:
                    sized = {**request, "budget": {"max_tokens": budget or RANKING_BUDGET}}
                    if budget is None:
                        sized["policy"] = ranking_policy
                    elif policy:
                        sized["policy"] = policy
                    started = time.perf_counter()
                    packet = memory.build_memory_packet(sized)  # type: ignore[arg-type]
                    elapsed_ms = (time.perf_counter() - started) * 1e3
                    selected = packet["explain"]["selected"]
                    if budget is None:
                        recall = sorted((item for item in selected
                                         if item["section"] == "recall" and "context_of" not in item),
                                        key=lambda item: item["rank"])
                        result.rankings[question.id] = [item["id"].removeprefix(prefix) for item in recall]
                        continue
                    result.latencies_ms[budget].append(elapsed_ms)
                    result.packets[question.id][budget] = [item["id"].removeprefix(prefix) for item in selected]
                    full = [item for item in selected if item["section"] == "recall" and item["form"] == "full"]
                    for item in full:
                        count = token_counts.get((question.conversation, item["id"].removeprefix(prefix)))
                        if count is not None:
                            item_overheads.append(item["tokens"] - count)
                    usage = packet["budget_report"]["section_usage"].get("recall")
                    if usage is not None and len(full) == sum(1 for item in selected if item["section"] == "recall"):
                        headings.append(usage - sum(item["tokens"] for item in full))
    return EngramRun(result, token_counts, mode, item_overheads, headings)


# --- the evaluation ---------------------------------------------------------------------


def run_evaluation(dataset: Dataset, embedder: Optional[Embedder] = None, embedder_name: str = "none",
                   budgets: Sequence[int] = BUDGETS, ks: Sequence[int] = KS, store: str = "memory",
                   limit: Optional[int] = None, max_recall: Optional[int] = None) -> Dict[str, Any]:
    """Runs engram and the baselines over the dataset's questions (the first ``limit``); the report."""
    dataset.validate()
    questions = dataset.questions[:limit] if limit is not None else list(dataset.questions)
    conversations = dataset.conversations()
    vectors: Dict[Tuple[str, str], List[float]] = {}
    query_vectors: Dict[str, List[float]] = {}
    embed_ms = 0.0
    if embedder is not None:
        started = time.perf_counter()
        wanted = {question.conversation for question in questions}
        turns = [turn for turn in dataset.turns if turn.conversation in wanted]
        for turn, vector in zip(turns, embedder([turn.text for turn in turns])):
            vectors[(turn.conversation, turn.id)] = vector
        for question, vector in zip(questions, embedder([question.query for question in questions])):
            query_vectors[question.id] = vector
        embed_ms = (time.perf_counter() - started) * 1e3

    engram = run_engram(dataset, questions, budgets, ks, store, embedder, vectors, query_vectors, max_recall)
    item_overhead = round(statistics.median(engram.item_overheads)) if engram.item_overheads else FALLBACK_ITEM_OVERHEAD
    heading = round(statistics.median(engram.headings)) if engram.headings else FALLBACK_HEADING

    systems: Dict[str, SystemResult] = {"engram": engram.result, "bm25": SystemResult()}
    if embedder is not None:
        systems["embedding"] = SystemResult()
    indexes = {conversation: BM25([(turn.id, turn.text) for turn in turns])
               for conversation, turns in conversations.items()}
    for question in questions:
        turns = conversations[question.conversation]
        costs = {turn.id: engram.token_counts[(turn.conversation, turn.id)] + item_overhead for turn in turns}
        rankers: Dict[str, Callable[[], List[str]]] = {"bm25": lambda: indexes[question.conversation].rank(question.query)}
        if embedder is not None:
            documents = [(turn.id, vectors[(turn.conversation, turn.id)]) for turn in turns]
            rankers["embedding"] = lambda: cosine_rank(query_vectors[question.id], documents)
        for name, rank in rankers.items():
            started = time.perf_counter()
            ranking = rank()
            elapsed_ms = (time.perf_counter() - started) * 1e3
            system = systems[name]
            system.rankings[question.id] = ranking
            system.packets[question.id] = {budget: fill_budget(ranking, costs, budget, heading) for budget in budgets}
            system.latencies_ms[0].append(elapsed_ms)

    summaries = {name: system.summary(questions, budgets, ks) for name, system in systems.items()}
    for name in ("bm25", "embedding"):
        if name in summaries:
            summaries[name]["latency_ms"] = {"ranking": summaries[name]["latency_ms"].pop("0")}
    return {
        "kind": "engram_retrieval_eval",
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": dataset.name,
        "conversations": len({question.conversation for question in questions}),
        "turns": sum(len(conversations[c]) for c in {question.conversation for question in questions}),
        "questions": [{"id": question.id, "conversation": question.conversation,
                       "evidence": list(question.evidence),
                       **{name: {"packet": {str(budget): system.packets[question.id][budget] for budget in budgets},
                                 "ranking": system.rankings[question.id][:max(ks)]}
                          for name, system in systems.items()}}
                      for question in questions],
        "settings": {"budgets": list(budgets), "ks": list(ks), "store": store, "embedder": embedder_name,
                     "max_recall": max_recall, "limit": limit},
        "engram_vectors": engram.vectors,
        "embedding_ms": round(embed_ms, 1),
        "token_costs": {"item_overhead": item_overhead, "heading": heading,
                        "measured_items": len(engram.item_overheads)},
        "systems": summaries,
    }


def format_table(report: Dict[str, Any]) -> str:
    budgets, ks = report["settings"]["budgets"], report["settings"]["ks"]
    header = (f"{'system':<11}" + "".join(f"{'R@' + str(b) + 'tok':>10}" for b in budgets)
              + "".join(f"{'r@' + str(k):>7}" for k in ks) + f"{'p50 ms':>9}{'p95 ms':>9}")
    lines = [f"{report['dataset']}: {len(report['questions'])} questions, {report['conversations']} conversations, "
             f"{report['turns']} turns; embedder {report['settings']['embedder']}, engram vectors: "
             f"{report['engram_vectors']}, max_recall {report['settings']['max_recall'] or 'default'}",
             header, "-" * len(header)]
    for name in ("engram", "bm25", "embedding"):
        summary = report["systems"].get(name)
        if summary is None:
            lines.append(f"{name:<11}(not run: --embedder none)")
            continue
        lines.append(f"{name:<11}" + "".join(f"{summary['packet_recall'][str(b)]:>10.3f}" for b in budgets)
                     + "".join(f"{summary['recall_at'][str(k)]:>7.3f}" for k in ks)
                     + f"{summary['p50_ms']:>9.2f}{summary['p95_ms']:>9.2f}")
    engram = report["systems"]["engram"]["latency_ms"]
    lines.append("engram build latency per budget: " + ", ".join(
        f"{budget} tok p50 {engram[str(budget)]['p50_ms']:.2f} / p95 {engram[str(budget)]['p95_ms']:.2f} ms"
        for budget in budgets))
    lines.append("R@B: evidence recall in a packet of B tokens; r@k: recall in the first k ranked; baselines' ms: "
                 "ranking time in Python (query embedding aside); baseline items cost engram's token_count + "
                 f"{report['token_costs']['item_overhead']} rendering + {report['token_costs']['heading']} heading")
    return "\n".join(lines)


def make_embedder(name: str) -> Optional[Embedder]:
    if name == "none":
        return None
    from engram.embeddings import LocalEmbedder

    return LocalEmbedder()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="madial", help="'madial' or a JSONL file (format above)")
    parser.add_argument("--madial-dir", type=Path, default=MADIAL_DIR)
    parser.add_argument("--embedder", choices=("none", "local"), default="none")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory",
                        help="engram in process memory, or in a temporary SQLite file")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)), help="token budgets, comma-separated")
    parser.add_argument("--max-recall", type=int, default=DEFAULT_MAX_RECALL,
                        help=f"engram's policy max_recall (default {DEFAULT_MAX_RECALL}: the budget bounds recall)")
    parser.add_argument("--json", type=Path, default=None, help="write the report (with per-question results) here")
    parser.add_argument("--write-dataset", type=Path, default=None, help="write the dataset as JSONL here")
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset, args.madial_dir)
    if args.write_dataset:
        args.write_dataset.write_text("".join(line + "\n" for line in dataset.to_jsonl()), encoding="utf-8")
    budgets = [int(budget) for budget in args.budgets.split(",")]
    report = run_evaluation(dataset, make_embedder(args.embedder), args.embedder, budgets=budgets,
                            store=args.store, limit=args.limit, max_recall=args.max_recall)
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
