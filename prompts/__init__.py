"""The prompt templates, shipped inside the runtime package as ``rag.prompts``."""
