from pathlib import Path

import pytest

from rag.errors import SettingsError
from rag.settings import Settings


def test_environment_overrides_defaults_and_flags_override_environment():
    s = Settings.from_env({"RAG_TOP_K": "6", "RAG_HOME": "/tmp/x", "RAG_MODEL": "smollm2-135m"}, top_k=2)
    assert (s.top_k, s.home, s.model) == (2, Path("/tmp/x"), "smollm2-135m")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_TOP_K": "many"}, "RAG_TOP_K='many' is not a valid int"),
        ({"RAG_RETRIEVAL": "magic"}, "RAG_RETRIEVAL='magic' is not one of"),
        ({"RAG_COLLECTION": "ab"}, "cannot name a collection"),
        ({"RAG_COLLECTION": "my notes"}, "cannot name a collection"),
        ({"RAG_CHUNK_OVERLAP": "500"}, "RAG_CHUNK_TOKENS must be"),
        ({"RAG_UI_AUTH": "nopassword"}, "RAG_UI_AUTH must look like user:password"),
        ({"RAG_API_QUEUE": "100"}, "RAG_API_QUEUE=100 must be between 0 and 32"),
    ],
)
def test_bad_values_are_one_line_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().top_k = 3  # type: ignore[misc]


def test_parallel_answers_need_a_model_server():
    server = "http://127.0.0.1:8080/v1"
    assert Settings.from_env({"RAG_PARALLEL": "4", "RAG_LLM_URL": server}).parallel == 4
    with pytest.raises(SettingsError, match="RAG_PARALLEL=4 needs a model server"):
        Settings.from_env({"RAG_PARALLEL": "4"})
    with pytest.raises(SettingsError, match="between 1 and 16"):
        Settings.from_env({"RAG_PARALLEL": "0", "RAG_LLM_URL": server})
