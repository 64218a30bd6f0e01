"""Renderers: terminal, Markdown and JSON views of one Plan. They print; they never decide."""
