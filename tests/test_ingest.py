
import pytest

from rag.assistant import Assistant
from rag.documents import SUPPORTED
from rag.embedding import HashEmbedder
from rag.errors import IndexMismatchError, NoIndexError
from rag.retrieval import Retriever
from tests.conftest import CountingEmbedder

SEED_NAMES = [
    "000_20cacabebc80833c.txt",
    "001_a59af63640988946.txt",
    "002_9a8e32283f0f2645.txt",
    "003_c08c91fbef48442b.txt",
    "004_e63c1b3594661294.txt",
]


def make(settings, embedder):
    return Assistant(settings, embedder=embedder)


def test_first_ingest_adds_every_seed_and_second_changes_nothing(settings, embedder, seeds):
    a = make(settings, embedder)
    first = a.ingest([seeds])
    assert first.added == SEED_NAMES and first.chunks > 0
    second = a.ingest([seeds])
    assert second.unchanged == SEED_NAMES
    assert (second.added, second.updated, second.removed, second.chunks) == ([], [], [], first.chunks)


def test_changed_file_replaces_its_chunks(settings, embedder, seeds):
    a = make(settings, embedder)
    before = a.ingest([seeds]).chunks
    old = {d.source: d.chunks for d in a.documents()}["004_e63c1b3594661294.txt"]
    (seeds / "004_e63c1b3594661294.txt").write_text("A short replacement article about Geneva talks.")
    report = a.ingest([seeds])
    assert report.updated == ["004_e63c1b3594661294.txt"]
    docs = {d.source: d.chunks for d in a.documents()}
    assert docs["004_e63c1b3594661294.txt"] == 1
    assert report.chunks == before - old + 1


def test_file_gone_from_folder_is_removed_on_reingest(settings, embedder, seeds):
    a = make(settings, embedder)
    a.ingest([seeds])
    (seeds / "003_c08c91fbef48442b.txt").unlink()
    report = a.ingest([seeds])
    assert report.removed == ["003_c08c91fbef48442b.txt"]
    assert "003_c08c91fbef48442b.txt" not in {d.source for d in a.documents()}
    hits = a.retriever.search("Bart Gorman expelled deputy chief of mission", k=10)
    assert all(h.source != "003_c08c91fbef48442b.txt" for h in hits)


def test_skipped_files_are_reported_with_reasons_and_do_not_stop_the_run(settings, embedder, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("Blinken met Lavrov in Geneva.")
    (folder / "empty.txt").write_text("")
    (folder / "blob.txt").write_bytes(b"\x00\x01binary")
    (folder / "image.png").write_bytes(b"\x89PNG")
    report = make(settings, embedder).ingest([folder])
    assert report.added == ["good.txt"]
    assert report.skipped == {
        "image.png": f"unsupported type .png; supported: {', '.join(SUPPORTED)}",
        "empty.txt": "empty file",
        "blob.txt": "binary or undecodable content (not UTF-8, UTF-16 or Windows-1252 text)",
    }


def test_chunks_map_back_to_exact_file_offsets(settings, embedder, seeds):
    a = make(settings, embedder)
    a.ingest([seeds])
    for hit in a.retriever.search("Geneva meeting lasted", k=5):
        original = (seeds / hit.source).read_text()
        assert original[hit.start : hit.end] == hit.text


def test_search_before_any_ingest_says_what_to_do(settings, embedder):
    with pytest.raises(NoIndexError, match="run `rag ingest seeds/` first"):
        Retriever(settings, embedder=embedder).search("anything")


def test_opening_an_index_with_another_embedding_model_is_an_error(settings, embedder, seeds):
    make(settings, embedder).ingest([seeds])
    with pytest.raises(IndexMismatchError, match="was built with hash-embedder"):
        Retriever(settings, embedder=HashEmbedder(dim=256, name="other-model")).search("x")


def test_interrupted_write_leaves_no_partial_document_and_next_run_repairs(settings, embedder, seeds):
    """Simulate a crash after a changed document's new chunks were written but before its
    catalogue entry was committed: searches never see the half-written version and the
    next ingest sweeps it away."""
    a = make(settings, embedder)
    a.ingest([seeds])
    store = a.store()
    target = seeds / "001_a59af63640988946.txt"
    target.write_text("Zorblat festival news. " * 40)
    from rag.documents import read_document
    from rag.ingest import make_chunks

    doc = read_document(target, 10**7)
    chunks = make_chunks(doc, settings.chunk_tokens, settings.chunk_overlap)
    store.upsert(chunks, embedder.embed([c.text for c in chunks]))  # ...and then the crash
    store.bump_generation()
    hits = Retriever(settings, embedder=embedder).search("Zorblat festival", k=10)
    assert all("Zorblat" not in h.text for h in hits)
    report = a.ingest([seeds])
    assert report.updated == ["001_a59af63640988946.txt"]
    assert report.chunks == sum(d.chunks for d in a.documents())
    hits = Retriever(settings, embedder=embedder).search("Zorblat festival", k=50)
    assert any("Zorblat" in h.text for h in hits)
    assert all("90 minutes" not in h.text for h in hits if h.source == "001_a59af63640988946.txt")


def test_delete_removes_a_document(settings, embedder, seeds):
    a = make(settings, embedder)
    a.ingest([seeds])
    assert a.delete("004_e63c1b3594661294.txt") == [str((seeds / "004_e63c1b3594661294.txt").resolve())]
    assert len(a.documents()) == 4
    assert a.delete("nope.txt") == []


def _article(tmp_path, sentences: int = 60):
    folder = tmp_path / "papers"
    folder.mkdir()
    body = " ".join(f"Sentence {i} says the mice gained weight on day {i}." for i in range(sentences))
    (folder / "paper.txt").write_text(f"Dietary zinc and obesity in mice.\n{body}")
    return folder


def test_bm25_indexes_every_chunk_under_its_documents_title_and_dense_the_chunk_alone(settings, tmp_path):
    embedder = CountingEmbedder(dim=256)
    a = make(settings, embedder)
    a.ingest([_article(tmp_path)])
    chunks = a.retriever.store.all_chunks()
    assert len(chunks) > 2
    later = [(text, meta) for _, text, meta in chunks if meta["index"] > 0]
    assert all(not text.startswith("Dietary zinc") for text, _ in later)  # stored as written
    assert sorted(embedder.embedded) == sorted(text for _, text, _ in chunks)
    # BM25 alone finds a later chunk by a word only the title has.
    bm25 = Retriever(settings.with_(retrieval="bm25"), embedder=embedder, store=a.retriever.store)
    assert any(h.index > 0 for h in bm25.search("zinc", k=10))


def test_changing_the_chunk_size_reindexes_unchanged_files(settings, tmp_path):
    folder = _article(tmp_path)
    first = make(settings, HashEmbedder(dim=256)).ingest([folder])
    again = make(settings, HashEmbedder(dim=256)).ingest([folder])
    assert again.unchanged == ["paper.txt"]
    smaller = settings.with_(chunk_tokens=60, chunk_overlap=10)
    b = make(smaller, HashEmbedder(dim=256))
    report = b.ingest([folder])
    assert report.updated == ["paper.txt"] and report.chunks > first.chunks
    texts = [text for _, text, _ in b.retriever.store.all_chunks()]
    assert len(texts) == report.chunks == len(set(texts))  # the old chunks are gone
    assert b.ingest([folder]).unchanged == ["paper.txt"]


def test_one_writer_at_a_time_across_threads_and_processes(settings, embedder, seeds):
    """An ingest waits while another writer holds the collection's lock: a thread of this
    process, or another process (``rag ingest`` while ``rag ui`` runs)."""
    import subprocess
    import sys
    import threading
    import time

    from rag.ingest import writing

    assistant = make(settings, embedder)
    done = threading.Event()

    def ingest() -> None:
        assistant.ingest([seeds])
        done.set()

    with writing(settings):
        worker = threading.Thread(target=ingest)
        worker.start()
        assert not done.wait(0.5)  # waits for the lock
    assert done.wait(60)
    worker.join()

    lock = settings.home / "locks" / f"{settings.collection}.lock"
    hold = (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(1.5)"
    )
    other = subprocess.Popen([sys.executable, "-c", hold, str(lock)], stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "held"
    began = time.monotonic()
    assert assistant.delete("001_a59af63640988946.txt")
    assert time.monotonic() - began > 0.5  # it waited for the other process
    other.wait(10)
