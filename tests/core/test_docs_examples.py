"""The examples in docs/ run as shown: each is run for real and its output compared with the
output the page prints (durations aside)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from venomqa.demo import init_schema, start_demo_server

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _blocks(page: Path, language: str) -> list[str]:
    """The fenced code blocks of ``page`` whose info string is ``language`` ("" for none)."""
    blocks: list[str] = []
    current: list[str] | None = None
    info = ""
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == language:
                    blocks.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_the_journey_example_prints_what_the_page_shows(tmp_path: Path) -> None:
    page = DOCS / "journeys.md"
    [source] = _blocks(page, "python")
    [shown] = _blocks(page, "")
    (tmp_path / "shop_journeys.py").write_text(source)
    db = tmp_path / "shop.db"
    init_schema(db)
    with start_demo_server(db) as server:
        (tmp_path / "venomqa.yaml").write_text(
            f"target: {server.url}\nactions: [shop_journeys]\n"
            "stores:\n  db: {adapter: sqlite, path: shop.db}\n"
        )
        done = subprocess.run(
            [sys.executable, "-m", "venomqa", "run"],
            cwd=tmp_path,
            env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def timeless(text: str) -> list[str]:
        return [re.sub(r"\(\d+\.\d+ s\)", "(s)", line) for line in text.strip().splitlines()]

    assert done.returncode == 0, done.stderr
    assert timeless(done.stdout) == timeless(shown)
