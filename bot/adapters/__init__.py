"""Platform adapters: thin translators between a platform and `bot.core`."""

from __future__ import annotations

import asyncio
import importlib

from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.core.metrics import PLATFORM_CONNECTED
from bot.workers import Worker


async def serve_adapters(names: list[str], settings: Settings, engine: ChatEngine, worker: Worker = Worker()) -> int:
    """Run the named adapters (`bot.adapters.<name>.serve`) until one stops or they are cancelled
    (SIGTERM); then stop every one, once, and wait until each has finished its answers in flight.

    Not `gather`: cancelled, it returns as soon as the quickest adapter has stopped, and the
    engine they share would then be closed under the others' answers."""
    modules = [importlib.import_module(f"bot.adapters.{name}") for name in names]
    for name in names:  # not ready until each has connected
        PLATFORM_CONNECTED.labels(name).set(0)
    tasks = [asyncio.create_task(module.serve(settings, engine, worker)) for module in modules]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()  # an adapter's failure (a refused token, say) is the command's
    return 0
