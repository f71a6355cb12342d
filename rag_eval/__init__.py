"""Evaluation and benchmarks for the ``rag`` assistant, beside it rather than inside it.

The runtime package ``rag`` never imports this one. This package adds ``rag eval`` and
``rag bench`` to the ``rag`` command the way a plugin does (the ``rag.commands`` entry
points in pyproject.toml), and holds the question sets' loaders, the metrics and the
reports.
"""

# The sets of ``rag eval --suite``, in the order it runs them (``rag_eval.suite``); here so the
# command line can offer them without loading the suite.
SUITE_SETS = ("seeds", "manuals", "pdfs", "whole", "squad2", "rgb")
