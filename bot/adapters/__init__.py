"""Platform adapters: thin translators between a platform and `bot.core`."""

from __future__ import annotations

import asyncio
import importlib

from bot.config import Settings
from bot.core.engine import ChatEngine


async def serve_adapters(names: list[str], settings: Settings, engine: ChatEngine) -> int:
    """Run the named adapters (`bot.adapters.<name>.serve`) until they stop."""
    modules = [importlib.import_module(f"bot.adapters.{name}") for name in names]
    await asyncio.gather(*(module.serve(settings, engine) for module in modules))
    return 0
