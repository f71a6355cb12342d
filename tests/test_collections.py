"""Collections: named workspaces of documents. Each one answers only from its own, whether
asked through the Python API, the command line, the browser's handlers or the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from rag.assistant import Assistant
from rag.cli import cli
from rag.errors import SettingsError
from rag.server import build_api
from tests.conftest import GENEVA
from tests.test_real import run
from tests.test_server import KEY, client, serving
from ui import documents as docs

QUESTION = "How long did the meeting between Blinken and Lavrov in Geneva last?"
PUMP = "pump-manual.txt"
MANUAL = (
    "The pump is serviced every 500 hours of running. Its filter is replaced each spring, "
    "and the seals are checked whenever the pressure drops below two bar.\n"
)


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / PUMP).write_text(MANUAL)
    return folder


@pytest.fixture
def two(assistant: Assistant, manual: Path) -> tuple[Assistant, Assistant]:
    """The seed articles in the default collection, a pump manual in ``pumps``."""
    pumps = assistant.collection("pumps")
    pumps.ingest([manual])
    return assistant, pumps


def sources(answer) -> set[str]:
    return {c.source for c in answer.citations}


def test_each_collection_lists_searches_and_answers_from_its_own(two):
    seeds, pumps = two
    assert [d.source for d in pumps.documents()] == [PUMP]
    assert PUMP not in {d.source for d in seeds.documents()} and len(seeds.documents()) == 5
    assert {h.source for h in pumps.retriever.search("Geneva meeting Blinken Lavrov", k=5)} <= {
        PUMP
    }
    assert PUMP not in {h.source for h in seeds.retriever.search("pump serviced hours", k=5)}
    articles = {d.source for d in seeds.documents()}
    assert sources(seeds.ask(QUESTION)) & articles and sources(seeds.ask(QUESTION)) <= articles
    assert not sources(pumps.ask(QUESTION)) & articles
    serviced = pumps.ask("How often is the pump serviced?")
    assert "500 hours" in serviced.answer and sources(serviced) == {PUMP}
    assert sources(seeds.ask("How often is the pump serviced?")) <= articles
    assert seeds.collections() == ["documents", "pumps"]
    assert pumps.collections() == ["pumps", "documents"]  # its own first


def test_collections_share_the_loaded_models_and_come_back_the_same(two):
    seeds, pumps = two
    assert pumps.generator is seeds.generator
    assert pumps.retriever.embedder is seeds.retriever.embedder
    assert seeds.collection("pumps") is pumps and pumps.collection("documents") is seeds
    assert seeds.collection(None) is seeds


def test_a_name_that_cannot_name_a_collection_is_refused(assistant):
    for bad in ("ab", "my notes", "-work", "a..b", "x" * 60):
        with pytest.raises(SettingsError, match="cannot name a collection"):
            assistant.collection(bad)


def test_the_same_file_name_in_two_collections_stays_apart(assistant, tmp_path):
    pumps = assistant.collection("pumps")
    for target, text in ((assistant, "The office opens at nine."), (pumps, MANUAL)):
        upload = tmp_path / target.settings.collection / "notes.txt"
        upload.parent.mkdir()
        upload.write_text(text)
        assert "Added notes.txt" in docs.upload(target, [upload])
    assert assistant.settings.uploads != pumps.settings.uploads
    assert (pumps.settings.uploads / "notes.txt").read_text() == MANUAL
    assert "Deleted notes.txt and its uploaded copy" in docs.delete(pumps, "notes.txt")
    assert (assistant.settings.uploads / "notes.txt").read_text() == "The office opens at nine."
    assert "notes.txt" in {d.source for d in assistant.documents()}
    assert "notes.txt" not in {d.source for d in pumps.documents()}
    # re-indexing a collection other than the default never pulls in the demo articles
    assert "Nothing to index" in docs.reindex(assistant.collection("empty-one"))


def cli_json(*args: str) -> object:
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_command_line_takes_a_collection_everywhere(seeds, manual):
    assert cli_json("ingest", str(seeds))["added"]
    assert cli_json("ingest", "--collection", "pumps", str(manual))["added"] == [PUMP]
    assert cli_json("collections") == [
        {"name": "documents", "documents": 5},
        {"name": "pumps", "documents": 1},
    ]
    assert [d["source"] for d in cli_json("docs", "--collection", "pumps")] == [PUMP]
    found = cli_json("search", "--collection", "pumps", "Geneva meeting", "-k", "3")
    assert {h["source"] for h in found} == {PUMP}
    assert PUMP not in {h["source"] for h in cli_json("search", "pump serviced", "-k", "3")}
    gone = CliRunner().invoke(cli, ["delete", "--collection", "pumps", GENEVA])
    assert gone.exit_code == 1 and "No indexed document" in gone.output  # not in this one
    assert CliRunner().invoke(cli, ["delete", "--collection", "pumps", PUMP]).exit_code == 0
    assert len(cli_json("docs")) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["docs", "--collection", "nothing-here"], "No collection named 'nothing-here'"),
        (["ask", "--collection", "my notes", "When?"], "'my notes' cannot name a collection"),
    ],
)
def test_a_missing_or_bad_collection_is_one_line(seeds, args, message):
    CliRunner().invoke(cli, ["ingest", str(seeds)])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.fixture
def api(two):
    seeds, _ = two
    settings = seeds.settings.with_(api_key=KEY)
    with serving(build_api(seeds, settings)) as url:
        yield url


def test_the_http_api_takes_a_collection_everywhere(api):
    headers = {"Authorization": f"Bearer {KEY}"}
    ai = client(api)
    own = ai.chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}])
    assert PUMP not in {c["source"] for c in own.model_extra["rag"]["citations"]}
    assert own.model_extra["rag"]["citations"]
    pumped = ai.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "How often is the pump serviced?"}],
        extra_body={"collection": "pumps"},
    )
    assert "500 hours" in pumped.choices[0].message.content
    assert {c["source"] for c in pumped.model_extra["rag"]["citations"]} == {PUMP}
    # a client that only lets people pick a model picks the collection as one
    listed = {m.id: m.model_extra["kind"] for m in ai.models.list().data}
    assert listed["pumps"] == "collection" and listed["qwen2.5-coder-1.5b"] == "preset"
    by_model = ai.chat.completions.create(
        model="pumps", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    events = list(by_model)
    cited = events[-1].model_extra["rag"]["citations"]
    assert GENEVA not in {c["source"] for c in cited}
    hits = httpx.post(
        f"{api}/v1/search", json={"query": "pump serviced", "collection": "pumps"}, headers=headers
    ).json()["hits"]
    assert {h["source"] for h in hits} == {PUMP}
    listed_docs = httpx.get(f"{api}/v1/documents?collection=pumps", headers=headers).json()
    assert [d["source"] for d in listed_docs["documents"]] == [PUMP]
    missing = httpx.get(f"{api}/v1/documents?collection=nothing-here", headers=headers)
    assert (
        missing.status_code == 404 and "No collection named" in missing.json()["error"]["message"]
    )
    bad = httpx.post(
        f"{api}/v1/search", json={"query": "x", "collection": "no good"}, headers=headers
    )
    assert bad.status_code == 400 and "cannot name a collection" in bad.json()["error"]["message"]


def test_uploads_over_http_land_in_their_collection_within_the_limits(api, monkeypatch):
    import rag.server

    headers = {"Authorization": f"Bearer {KEY}"}
    note = ("office-hours.md", b"# Office\n\nThe office opens at nine on weekdays.\n")
    added = httpx.post(
        f"{api}/v1/documents?collection=office", files={"file": note}, headers=headers
    )
    assert added.status_code == 200, added.text
    assert added.json()["saved"] == ["office-hours.md"]
    assert added.json()["report"]["added"][0].endswith("office-hours.md")
    docs_in = httpx.get(f"{api}/v1/documents?collection=office", headers=headers).json()
    assert [d["source"] for d in docs_in["documents"]] == ["office-hours.md"]
    default = httpx.get(f"{api}/v1/documents", headers=headers).json()["documents"]
    assert "office-hours.md" not in {d["source"] for d in default}

    wrong = httpx.post(
        f"{api}/v1/documents", files={"file": ("tool.exe", b"MZ...")}, headers=headers
    )
    assert wrong.status_code == 415 and "only .txt" in wrong.json()["error"]["message"]
    monkeypatch.setattr(rag.server, "MAX_UPLOAD_BYTES", 1000)
    big = ("big.txt", b"word " * 2000)
    refused = httpx.post(f"{api}/v1/documents", files={"file": big}, headers=headers)
    assert refused.status_code == 413 and "MB" in refused.json()["error"]["message"]
    assert "big.txt" not in {
        d["source"] for d in httpx.get(f"{api}/v1/documents", headers=headers).json()["documents"]
    }
    assert httpx.post(f"{api}/v1/documents", files={"file": note}).status_code == 401

    gone = httpx.delete(f"{api}/v1/documents/office-hours.md?collection=office", headers=headers)
    assert gone.status_code == 200
    assert not list(Path(gone.json()["paths"][0]).parent.glob("office-hours.md"))


@pytest.mark.real
def test_two_collections_answer_only_from_their_own_with_the_real_models(tmp_path, manual):
    home = tmp_path / "home"
    assert run("ingest", home=home).returncode == 0
    assert run("ingest", "--collection", "pumps", str(manual), home=home).returncode == 0
    seeds = json.loads(run("ask", QUESTION, "--json", home=home).stdout)
    assert "90 minutes" in seeds["answer"]
    assert GENEVA in {c["source"] for c in seeds["citations"]}
    pumps = json.loads(run("ask", "--collection", "pumps", QUESTION, "--json", home=home).stdout)
    assert pumps["abstained"] and "90 minutes" not in pumps["answer"]
    assert {c["source"] for c in pumps["citations"]} <= {PUMP}
    serviced = json.loads(
        run(
            "ask", "--collection", "pumps", "How often is the pump serviced?", "--json", home=home
        ).stdout
    )
    assert "500 hours" in serviced["answer"]
    assert {c["source"] for c in serviced["citations"]} == {PUMP}
