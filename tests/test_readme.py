"""The README stays in step with the program: its contents list every section, and its demo
transcript is what the console really prints for those inputs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
DEMO_CATALOG = ROOT / "examples" / "demo" / "catalog.yaml"
_VARYING = [  # what differs from run to run, replaced by a placeholder on both sides
    (re.compile(r"d-[a-z0-9]{8}"), "d-ID"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"), "DATE"),
    (re.compile(r"catalog entry `[0-9a-f]{12}`"), "catalog entry `REV`"),
    (re.compile(r"\b(?:\d+m )?\d+s\b"), "Ns"),
]
_TIMING = (" running — ", " waiting", ", updated: ")  # which progress shows depends on timing


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def _normal(line: str) -> str:
    for pattern, placeholder in _VARYING:
        line = pattern.sub(placeholder, line)
    return line.rstrip()


def test_contents_link_every_section() -> None:
    """Each `##` section has a link in the Contents list, and each link there has a heading."""
    headings = re.findall(r"^##+ (.+)$", README, re.MULTILINE)
    contents = README.split("## Contents", 1)[1].split("\n## ", 1)[0]
    links = set(re.findall(r"\]\(#([a-z0-9-]+)\)", contents))
    sections = {_anchor(h) for h in re.findall(r"^## (.+)$", README, re.MULTILINE)}
    assert set() == sections - links - {"contents"}
    assert set() == links - {_anchor(h) for h in headings}


def test_demo_transcript_is_what_the_console_prints(tmp_path: Path) -> None:
    """The README's demo inputs, typed into `shipbot console`: every line the transcript shows
    is printed, in the same order; ids, dates and durations may differ, and progress lines
    (which of them a coalesced update shows depends on timing) and `…` cuts are not checked."""
    block = README.split("A session, as it prints", 1)[1].split("```text\n", 1)[1]
    transcript = block.split("```", 1)[0].splitlines()
    inputs = [line.split("> ", 1)[1] for line in transcript if re.match(r"U0\w+> ", line)]
    run = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "console", "--catalog", str(DEMO_CATALOG)],
        input="\n".join(inputs) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=240,
        check=True,
    )
    printed = [_normal(line) for line in run.stdout.replace("> ", ">\n").splitlines()]
    shown = [
        _normal(line)
        for line in transcript
        if "…" not in line and "> " not in line and not any(t in line for t in _TIMING)
    ]
    position = 0
    for line in shown:
        assert line in printed[position:], f"not printed (after line {position}): {line!r}"
        position = printed.index(line, position) + 1
