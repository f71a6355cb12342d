"""``python -m rag``: the ``rag`` command in this process (``rag`` itself runs it in a child)."""

from .cli import run_in_process

run_in_process()
