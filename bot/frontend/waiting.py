"""What an answer's placeholder says while its question waits for the model: its place in the
model's line ("대기 중이에요… (2번째)"), told again as people ahead are served."""

from __future__ import annotations

from collections.abc import Callable

from bot.frontend.texts import Texts

# Seconds between changes of a waiting answer's placeholder: each change is one more call at
# the platform, for news that can wait a little (Discord allows about 5 edits per 5 s in a
# channel, Slack about 50 chat.update a minute in a workspace), and many answers may wait.
PLACE_INTERVAL = 3.0


class PlaceInLine:
    """A question's place in the model's line (0: not waiting), and the text that says it.
    Called with the new place by the line (bot.core.llm.line.watching_place)."""

    def __init__(self, texts: Texts, place: int) -> None:
        self._texts = texts
        self.place = place
        self._moved: Callable[[], None] = lambda: None

    @property
    def text(self) -> str:
        return self._texts("waiting", position=self.place) if self.place else self._texts("thinking")

    def on_move(self, moved: Callable[[], None]) -> None:
        """Call `moved` whenever the place changes (whoever shows the text)."""
        self._moved = moved

    def __call__(self, place: int) -> None:
        if place != self.place:
            self.place = place
            self._moved()
