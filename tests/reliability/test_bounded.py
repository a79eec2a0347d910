"""What a process keeps in memory for itself stays bounded however long it runs (a soak showed RSS
climbing with the thread marks kept beside Redis): marks and claimed events are capped, the
oldest forgotten first, and a conversation's turn queue is gone once its turns are."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Awaitable, Callable

from bot.core.conversation import ConversationKey
from bot.core.memory import LocalMemory, TurnOrder, in_order
# RedisMemory keeps its marks and claims in a LocalMemory too, for while Redis is away (with the
# default cap, LOCAL_CAP: a smaller one here keeps the test quick).
CAP = 2000


async def grown_by(warm_up: Callable[[], Awaitable[None]], work: Callable[[], Awaitable[None]]) -> int:
    """How many more bytes are allocated after `warm_up` then `work` than after `warm_up`."""
    tracemalloc.start()
    try:
        await warm_up()
        before = tracemalloc.get_traced_memory()[0]
        await work()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


async def test_marks_and_claims_kept_in_the_process_are_capped_oldest_first() -> None:
    memory = LocalMemory(window=4, cap=CAP)

    async def mark_and_claim(first: int, count: int) -> None:
        for n in range(first, first + count):
            await memory.mark(f"slack-thread:{n}", 3600)
            await memory.claim(f"event:slack:Ev{n}", 3600)

    # Full, and churned once (the tables settle at their size), then ten times as many again:
    # unbounded, that would be some 4 MB more.
    full = lambda: mark_and_claim(0, 2 * CAP)  # noqa: E731
    assert await grown_by(full, lambda: mark_and_claim(2 * CAP, 10 * CAP)) < 100_000
    newest = 12 * CAP - 1
    assert await memory.is_marked(f"slack-thread:{newest}") and not await memory.is_marked("slack-thread:0")
    assert not await memory.claim(f"event:slack:Ev{newest}", 3600)  # still a duplicate
    assert await memory.claim("event:slack:Ev0", 3600)  # forgotten, the oldest first


async def test_turn_queues_of_conversations_that_went_quiet_are_gone() -> None:
    memory = LocalMemory(window=0)

    async def conversation(n: int) -> None:
        key = ConversationKey("console", (str(n),))

        async def turn(position: float) -> None:  # two at once: one waits in the queue
            with in_order(TurnOrder(f"{n}-{position}", position)):
                async with memory.turn(key):
                    await asyncio.sleep(0)

        await asyncio.gather(turn(1.0), turn(2.0))

    async def conversations(first: int, count: int) -> None:
        for start in range(first, first + count, 500):  # 500 at a time
            await asyncio.gather(*(conversation(n) for n in range(start, start + 500)))

    # Once the tables have held 500 at a time, five times as many conversations leave nothing
    # behind (unbounded, half a megabyte).
    assert await grown_by(lambda: conversations(0, 500), lambda: conversations(500, 2500)) < 100_000
