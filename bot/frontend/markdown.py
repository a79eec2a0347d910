"""The one rule set for fenced code blocks in the model's Markdown, used wherever text is cut,
sealed or converted: splitting long answers, streaming, and Slack's mrkdwn."""

from __future__ import annotations

FENCE = "```"
CLOSE = "\n```"
_MAX_TAG = 20  # the tag is repeated on every reopened fence: a runaway info string must not eat the limit


def fence_info(line: str) -> str | None:
    """The info string ("python", or "" for a bare fence) if `line` is a code fence, else None.

    A line such as ```x = 1``` is inline code on a line of its own, not a fence: it opens nothing
    (and, not being bare, closes nothing either)."""
    stripped = line.strip()
    if not stripped.startswith(FENCE):
        return None
    if len(stripped) > 2 * len(FENCE) and stripped.endswith(FENCE):
        return None
    return stripped[len(FENCE) :].lstrip("`").strip()


def code_lines(markdown: str) -> tuple[list[tuple[str, bool]], str | None]:
    """Each line with whether it belongs to a fenced code block (fences included), and the fence
    line to reopen with if the text ends inside a block (None if it does not)."""
    lines: list[tuple[str, bool]] = []
    opener: str | None = None
    for line in markdown.split("\n"):
        info = fence_info(line)
        if info is None:
            lines.append((line, opener is not None))
        elif opener is None:
            opener = _reopen_line(info)
            lines.append((line, True))
        else:
            lines.append((line, True))
            if not info:  # only a bare fence closes; "```python" inside a block is content
                opener = None
    return lines, opener


def open_fence(text: str) -> str | None:
    """The fence line to reopen with if `text` ends inside a code block, else None."""
    return code_lines(text)[1] if FENCE in text else None


def seal(text: str) -> str:
    """`text` as a message of its own: trimmed, any open code block closed."""
    text = text.strip()
    return text + CLOSE if open_fence(text) else text


def _reopen_line(info: str) -> str:
    words = info.split(maxsplit=1)
    tag = words[0] if words else ""
    return FENCE + (tag if len(tag) <= _MAX_TAG else "")
