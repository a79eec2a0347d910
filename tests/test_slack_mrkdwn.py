"""The model writes Markdown; Slack messages (outside native streams) speak mrkdwn. And what
users type arrives in Slack's own markup, which the model should read as plain text."""

from __future__ import annotations

from bot.adapters.slack.events import plain_text
from bot.adapters.slack.surface import to_mrkdwn
from bot.frontend.markdown import open_fence

ZWSP = "\u200b"


def test_emphasis_headings_links_and_bullets() -> None:
    markdown = "\n".join([
        "## 서울 *여행* 안내",
        "**중요**합니다. *기울임*, ~~취소~~, ***둘 다***.",
        "- [지도](https://map.example/a_b?x=1&y=2) 보기",
        "* 둘째 **항목**",
        "  + 안쪽",
        "1. 번호는 그대로",
        "> 인용 <태그>",
        "---",
    ])  # fmt: skip
    assert to_mrkdwn(markdown).split("\n") == [
        "*서울 _여행_ 안내*",
        f"*중요*{ZWSP}합니다. _기울임_, ~취소~, *_둘 다_*.",
        "• <https://map.example/a_b?x=1&amp;y=2|지도> 보기",
        "• 둘째 *항목*",
        "  • 안쪽",
        "1. 번호는 그대로",
        ">인용 &lt;태그&gt;",
        "───",
    ]  # fmt: skip


def test_code_is_left_exactly_as_written() -> None:
    markdown = "`a < b` 와 **굵게** & 끝\n```python\nif a < b and **c**:\n    print('# 아님')\n```\n이후 **굵게**"
    assert to_mrkdwn(markdown) == (
        "`a < b` 와 *굵게* &amp; 끝\n```python\nif a < b and **c**:\n    print('# 아님')\n```\n이후 *굵게*"
    )


def test_open_fence_knows_when_text_ends_inside_code() -> None:
    assert open_fence("설명\n```sql\nSELECT 1") == "```sql"
    assert open_fence("```sql\nSELECT 1\n```\n끝") is None
    assert open_fence("```inline```") is None


def test_user_text_is_made_plain_for_the_model() -> None:
    slack = "<@UBOT> <@U1|kim>님, <#C1|general> 보세요 <https://a.example|링크> &lt;b&gt; &amp; <!here>"
    assert plain_text(slack, "UBOT") == "@kim님, #general 보세요 링크 (https://a.example) <b> & @here"
