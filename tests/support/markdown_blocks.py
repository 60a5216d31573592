"""The fenced code blocks of a Markdown document, and what the docs test does with each.

A block is a fenced code block (```` ```lang ```` ... ```` ``` ````). Read in this order:

- ``<!-- docs-test: skip (REASON) -->`` on the line before it: not run; the reason is required.
- ``<!-- docs-test: excerpt PATH -->`` on the line before it: an excerpt of the repository's
  file ``PATH`` (a YAML block whose keys and values must all be in that file).
- ``<!-- docs-test: output (COMMAND) -->`` on the line before it: an excerpt of what the bash
  command ``COMMAND`` prints (an output block whose lines must appear, consecutively, among
  the lines of its standard output).
- a file, if the last line of text before it (or before its marker) ends with a path in
  backticks and a colon, as in "`` `conf/config.yaml`: ``"; it is written to that path.
- else by its language: ``bash`` (commands), ``python`` (a script), ``yaml`` (a primary
  config); a block without a language, or ``text``, is output and is not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("bash", "python", "yaml", "", "text")
OUTPUT = ("", "text")

FENCE = re.compile(r"```(\S*)\s*")
MARKER = re.compile(
    r"<!-- docs-test: (?:skip \((?P<reason>[^)]+)\)|excerpt (?P<excerpt>\S+)"
    r"|output \((?P<output>[^)]+)\)) -->"
)
FILE_LABEL = re.compile(r"`(?P<path>[\w.-]+(?:/[\w.-]+)*)`:$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of ``doc``, its opening fence on line ``line`` (1-based)."""

    doc: Path
    line: int
    language: str
    text: str
    file: str | None = None
    excerpt_of: str | None = None
    output_of: str | None = None
    skip_reason: str | None = None

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}"


def read_blocks(doc: Path) -> list[Block]:
    """Every fenced code block of ``doc``, in order; a malformed marker or fence is an error."""
    lines = doc.read_text().splitlines()
    blocks = []
    number = 0
    while number < len(lines):
        line = lines[number]
        if line.startswith("<!-- docs-test") and not MARKER.fullmatch(line):
            raise ValueError(f"{doc.name}:{number + 1}: malformed docs-test marker {line!r}")
        fence = FENCE.fullmatch(line)
        if fence is None:
            number += 1
            continue
        language = fence.group(1)
        if language not in LANGUAGES:
            raise ValueError(
                f"{doc.name}:{number + 1}: language={language!r} is invalid: {LANGUAGES}"
            )
        try:
            end = next(i for i in range(number + 1, len(lines)) if lines[i] == "```")
        except StopIteration:
            raise ValueError(f"{doc.name}:{number + 1}: the block is never closed") from None
        text = "".join(f"{body}\n" for body in lines[number + 1 : end])
        before = [previous for previous in lines[:number] if previous.strip()]
        marker = MARKER.fullmatch(before[-1]) if before else None
        label_line = before[-2 if marker else -1] if len(before) > (1 if marker else 0) else ""
        label = FILE_LABEL.search(label_line)
        blocks.append(
            Block(
                doc=doc,
                line=number + 1,
                language=language,
                text=text,
                file=label.group("path") if label and (not marker or marker["reason"]) else None,
                excerpt_of=marker["excerpt"] if marker else None,
                output_of=marker["output"] if marker else None,
                skip_reason=marker["reason"] if marker else None,
            )
        )
        number = end + 1
    return blocks
