"""bench/RESULTS.md: one section per benchmark, day and settings, which a rerun replaces."""

from __future__ import annotations

import re
from pathlib import Path

from paths import RESULTS_FILE

RESULTS_HEADER = """# Benchmark results

Figures written by the scripts in `bench/`, one section per benchmark, day and settings (a rerun
replaces its section). The load generator shares the machine with the servers: quote the ratios
against the baseline measured in the same run, not the raw numbers.

## How to reproduce

With MariaDB on 127.0.0.1:3306 (root, no password) and Redis on 127.0.0.1:6379, from the
repository root:

    .venv/bin/python bench/http_load.py   # --help for options

[`README.md`](README.md) says what it does and how to read the columns.
"""


def write_section(heading: str, body: str, path: Path = RESULTS_FILE) -> None:
    """Replace the section `## heading` of RESULTS.md with `body`, or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else RESULTS_HEADER
    sections = [s for s in re.split(r"(?m)^(?=## )", text) if s.strip()]
    new = f"## {heading}\n\n{body}\n"
    is_ours = [s.startswith(f"## {heading}\n") for s in sections]
    sections = [new if ours else s for s, ours in zip(sections, is_ours, strict=True)]
    if not any(is_ours):
        sections.append(new)
    path.write_text("\n".join(s.rstrip("\n") + "\n" for s in sections), encoding="utf-8")
