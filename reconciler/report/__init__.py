"""Report: the terminal and Markdown views of one Plan (the JSON file is plan/file_write.py).
They print; they never decide."""
