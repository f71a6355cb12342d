"""`rag bench`'s parts on real models, at small sizes: they measure and report what they say.

Speed targets are never asserted here (machines are shared and noisy); only that each part
runs the real thing and reports consistent figures.
"""

import pytest

from rag.settings import PROJECT_ROOT
from rag_eval.bench import (
    ANSWER_EVERY,
    answer_questions,
    bench_answers,
    bench_ingest,
    bench_retrieval,
)
from rag_eval.evaluation import load_questions

pytestmark = pytest.mark.real


def test_ingest_is_measured_against_plain_encoding_of_the_same_chunks(settings):
    seeds = [p.read_text() for p in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))]
    result = bench_ingest(settings, seeds, "seeds")
    assert result["report"] == {"added": 5, "skipped": 0}
    assert result["chunks"] > 5
    assert result["project_chunks_per_s"] > 0 and result["plain_encode_chunks_per_s"] > 0
    expected = result["project_chunks_per_s"] / result["plain_encode_chunks_per_s"]
    assert result["ratio_vs_plain"] == pytest.approx(expected, rel=0.05)


def test_the_onnx_backend_is_measured_against_the_same_baseline(settings):
    seeds = [p.read_text() for p in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))]
    result = bench_ingest(
        settings.with_(embed_backend="onnx-int8"), seeds, "seeds", plain_rate=40.0
    )
    assert result["report"] == {"added": 5, "skipped": 0}
    assert result["plain_encode_chunks_per_s"] == 40.0
    assert result["ratio_vs_plain"] == pytest.approx(
        result["project_chunks_per_s"] / 40.0, rel=0.05
    )


def test_retrieval_is_timed_at_each_collection_size(settings):
    texts = [f"Abstract {i}: protein {i % 7} binds receptor {i % 11} in cells." for i in range(60)]
    result = bench_retrieval(settings, texts, [100, 400], ["Which protein binds the receptor?"] * 3)
    assert result["real_vectors"] == 60
    for size in ("100", "400"):
        assert 0 < result[size]["p50"] <= result[size]["p95"]


def test_answers_report_first_token_overhead_and_prompt_size(settings):
    small = settings.with_(model="smollm2-135m", n_ctx=2048)
    gated = "What is the best recipe for banana bread with cardamom?"  # nothing in the seeds
    result = bench_answers(
        small, ["How long did the meeting between Blinken and Lavrov in Geneva last?", gated]
    )
    assert result["model"] == "smollm2-135m"
    assert result["questions_gated"] == 1 and result["first_token_ms"]["n"] == 1
    assert 0 < result["first_token_ms"]["p50"] <= result["answer_ms"]["p50"]
    assert result["prompt_tokens_p50"] > 100
    assert result["llama_overhead_ratio"] > 0.5
    assert result["llama_overhead_ratio_without_figure_check"] > 0.5
    assert result["llama_overhead_ratio_all_answers"] > 0.5


def test_answer_questions_are_a_fixed_sample_of_the_single_turn_seed_questions():
    single = [
        q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl") if not q.get("history")
    ]
    chosen = answer_questions()
    assert chosen == [q["question"] for q in single][::ANSWER_EVERY] == answer_questions()
    assert {q["answerable"] for q in single if q["question"] in chosen} == {True, False}


def test_pdf_reading_and_ocr_are_timed_per_page_on_real_files(settings):
    from rag_eval.bench import PDF_SCAN, PDF_TEXT, bench_pdf

    result = bench_pdf(settings, rounds=1)
    text, ocr = result["text_layer"], result["ocr"]
    assert text["file"] == PDF_TEXT.name and text["pages"] > 1
    assert ocr["file"] == PDF_SCAN.name and ocr["pages"] == 1
    assert 0 < text["ms_per_page_p50"] < ocr["ms_per_page_p50"]  # OCR reads pixels
    assert result["ingest_ms_per_page_p50"] >= text["ms_per_page_p50"]
    assert result["ingest_chunks"] > text["pages"]


def test_the_server_part_times_eight_clients_against_one_and_refuses_beyond_the_queue(settings):
    from rag_eval.bench import CLIENTS, run_bench

    small = settings.with_(model="smollm2-135m", n_ctx=2048)
    result = run_bench(small, quick=True, only=["server"])
    assert {"answers", "retrieval", "ingest_scifact", "cold_start"}.isdisjoint(result)
    server = result["server"]
    assert server["model"] == "smollm2-135m" and server["clients"] == CLIENTS == 8
    one, many = server["one_client_ms"], server["clients_ms"]
    for figures in (one, many):  # a queue as long as the questions: every one answered
        assert figures["n"] == 8 and figures["refused"] == figures["failed"] == 0
        assert 0 < figures["p50"] <= figures["p95"] and figures["answers_per_min"] > 0
        assert 0 < figures["model_busy_share"] <= 1  # one answer at a time
    assert server["p50_ratio_vs_one_client"] == round(many["p50"] / one["p50"], 2)
    assert result["server_answers_per_min"] == many["answers_per_min"]
    burst = server["default_queue"]
    assert burst["queue"] == small.api_queue == 4 and burst["sent"] == 8
    assert 1 <= burst["refused"] <= 8 - 1 - 4  # one answering, four waiting, the rest refused


def test_whole_document_requests_are_timed_to_the_first_word_and_the_end(settings):
    from rag_eval.bench import bench_whole

    small = settings.with_(model="smollm2-135m", n_ctx=2048)
    result = bench_whole(small, ["node-addons.md", "performance-gov-discovery.pdf"])
    manual, report = result["node-addons.md"], result["performance-gov-discovery.pdf"]
    assert manual["words"] > 4000 and manual["pages"] == 0 and report["pages"] == 24
    for figures in (manual, report):
        assert 0 < figures["first_word_ms"] <= figures["total_ms"]
    assert result["total_ms"]["n"] == 2 and result["first_word_ms"]["p50"] > 0


def test_the_batched_server_part_measures_each_slot_count_under_each_load(settings):
    """Against the real llama-server (the small model, short answers): every request is
    answered (the queue is long enough), each configuration reports latency and throughput
    against one slot, and the answers under load are compared with the same answers alone."""
    from rag_eval.bench_batched import ALONE, batch_questions, bench_batched, needed

    small = settings.with_(model="smollm2-135m", n_ctx=2048, max_tokens=48, threads=2)
    result = bench_batched(small, batch_questions()[: needed((4,))], slots=(1, 2), loads=(4,))
    assert result["slots"] == [1, 2] and result["clients"] == [4]
    for n in (1, 2):
        run = result[f"{n}_slots"]
        assert run["one_client"]["n"] == ALONE and run["one_client"]["failed"] == 0
        loaded = run["4_clients"]
        assert loaded["n"] == 8 and loaded["refused"] == loaded["failed"] == 0
        assert 0 < loaded["p50"] <= loaded["p95"] and loaded["answers_per_min"] > 0
        assert run["default_queue"]["sent"] == 4 and run["default_queue"]["failed"] == 0
    assert result["1_slots"]["4_clients"]["throughput_vs_one_slot"] == 1.0
    assert result["2_slots"]["4_clients"]["throughput_vs_one_slot"] > 0
    same = result["batch_invariance"]
    assert same["slots"] == 2 and same["clients"] == 4
    assert 0 <= same["same_as_alone"] <= same["compared"] <= 8
