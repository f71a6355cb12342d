"""Exceptions users can act on. Each message is one line saying what is wrong and what to do.

The CLI prints ``str(error)`` and exits non-zero; it never shows a traceback for these.
"""


class RagError(Exception):
    """Base class: something the user can fix, described in one line."""


class SettingsError(RagError):
    """A ``RAG_*`` setting or a flag has a value we cannot use."""


class NoIndexError(RagError):
    """Nothing has been ingested yet."""


class IndexMismatchError(RagError):
    """The index was built with a different embedding model than the one configured."""


class ModelError(RagError):
    """A model file is missing, incomplete or corrupt, or a model server is unreachable."""


class InputError(RagError):
    """A question, file or upload cannot be used as given."""


class StoreError(RagError):
    """The vector store cannot be reached or refused an operation."""
