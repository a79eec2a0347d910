"""Slack's text formats: the model's Markdown made into Slack mrkdwn, and a user's message text
made plain for the model."""

from __future__ import annotations

import re
from collections.abc import Callable

_FENCE = "```"
_ZWSP = "\u200b"

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+(.*)$")
_QUOTE = re.compile(r"^([ \t]*)>[ \t]?(.*)$")
_RULE = re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]+)(?:[ \t]+\"[^\"\n]*\")?\)")
_AUTOLINK = re.compile(r"&lt;((?:https?|mailto):[^\s&]+)&gt;")
_BOLD_ITALIC = re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_TOKEN = re.compile("\x00(\\d+)\x00")


def to_mrkdwn(markdown: str) -> str:
    """Markdown → mrkdwn: **bold** → *bold*, headings → bold lines, [text](url) → <url|text>,
    bullets → •, & < > escaped; code blocks and inline code are left exactly as they are."""
    lines, _ = _code_lines(markdown)
    return "\n".join(line if in_code else _line(line) for line, in_code in lines)


def open_fence(markdown: str) -> str | None:
    """The fence line that opened the code block `markdown` ends inside, or None."""
    return _code_lines(markdown)[1]


def _code_lines(markdown: str) -> tuple[list[tuple[str, bool]], str | None]:
    """Each line with whether it belongs to a fenced code block, and the block left open."""
    lines, opener = [], None
    for line in markdown.split("\n"):
        fence = line.strip()
        if not fence.startswith(_FENCE) or (opener is None and len(fence) > 6 and fence.endswith(_FENCE)):
            lines.append((line, opener is not None))  # ```one-liner``` opens nothing
        elif opener is None:
            opener = fence
            lines.append((line, True))
        else:
            lines.append((line, True))
            # only a bare fence closes; "```python" inside a block is content
            opener = None if not fence.strip("`") else opener
    return lines, opener


def _line(line: str) -> str:
    if heading := _HEADING.match(line):
        title = _inline(_BOLD.sub(r"\2", heading.group(1)))
        return f"*{title}*" if title else ""
    if _RULE.match(line):
        return "───"
    if bullet := _BULLET.match(line):
        return f"{bullet.group(1)}• {_inline(bullet.group(2))}"
    if quote := _QUOTE.match(line):
        return f"{quote.group(1)}>{_inline(quote.group(2))}"
    return _inline(line)


def _inline(text: str) -> str:
    """Convert one line outside code blocks; inline code spans pass through untouched."""
    out, last = [], 0
    for code in _INLINE_CODE.finditer(text):
        out += [_styled(text[last : code.start()]), code.group(0)]
        last = code.end()
    out.append(_styled(text[last:]))
    return "".join(out)


def _styled(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    links: list[str] = []

    def keep(link: str) -> str:
        # Set aside so emphasis never rewrites the '_' or '*' inside a URL.
        links.append(link)
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(lambda m: keep(f"<{m[2]}|{m[1]}>" if m[1] else f"<{m[2]}>"), text)
    text = _AUTOLINK.sub(lambda m: keep(f"<{m[1]}>"), text)
    text = _BOLD_ITALIC.sub(_emphasis("\x01", 1, inner="_"), text)
    text = _BOLD.sub(_emphasis("\x01", 2), text)
    text = _ITALIC.sub(_emphasis("_", 1), text)
    text = _STRIKE.sub(_emphasis("~", 1), text)
    text = text.replace("\x01", "*")
    return _TOKEN.sub(lambda m: links[int(m[1])], text)


def _emphasis(marker: str, group: int, *, inner: str = "") -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        # Slack only styles text whose markers touch a space or punctuation: in Korean the
        # marker is usually glued to a particle ("**중요**합니다"), so a zero-width space parts them.
        before = _ZWSP if m.start() > 0 and m.string[m.start() - 1].isalnum() else ""
        after = _ZWSP if m.end() < len(m.string) and m.string[m.end()].isalnum() else ""
        return f"{before}{marker}{inner}{m[group]}{inner}{marker}{after}"

    return replace


# ------------------------------------------------------------------ Slack → plain

_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """A user's message as the model should read it: the bot's own mention dropped, Slack's
    <…> links, mentions and channel names spelled out, entities unescaped."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    text = _SLACK_LINK.sub(_spell_out, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _spell_out(m: re.Match[str]) -> str:
    target, label = m[1], m[2]
    if target.startswith(("@", "#")):
        return f"{target[0]}{label}" if label else target
    if target.startswith("!"):
        return label or f"@{target[1:].split('^')[0]}"
    target = target.removeprefix("mailto:")
    return f"{label} ({target})" if label and label != target else target
