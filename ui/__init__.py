"""The browser face of the assistant: a Gradio chat with an evidence panel and a documents tab.

``build_app(assistant)`` returns the Blocks; ``respond(...)`` is the plain generator that
does the chat's work; ``serve(settings)`` is what ``rag ui`` runs. Importing ``ui`` does not
import gradio: it loads when an app is built.
"""

from .app import View, build_app, launch, respond, serve

__all__ = ["View", "build_app", "launch", "respond", "serve"]
