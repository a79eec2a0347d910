"""What a scraper and an orchestrator ask a serving bot, on METRICS_PORT: `/metrics` (Prometheus
text), `/healthz` (the process answers) and `/readyz` (connected to its platforms; Redis and the
model's endpoint as this process last found them).

With WORKERS, the supervisor answers for all of them: the workers write their metrics into a
directory the supervisor made (prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR),
and readiness is read from those same values (bot.core.metrics), so one implementation answers
for one process and for many."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bot.config import Settings
from bot.core.errors import ConfigError
from bot.workers import Worker

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def add_health_routes(app: web.Application, registry: CollectorRegistry = REGISTRY) -> None:
    """/healthz and /readyz (also on Slack's HTTP-mode port, where load balancers look)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_: web.Request) -> web.Response:
        state = readiness(registry)
        return web.json_response(state, status=200 if state["ready"] else 503)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def readiness(registry: CollectorRegistry) -> dict[str, Any]:
    """Ready while every platform served is connected. Redis down leaves the bot answering
    without memory, and a model endpoint found unreachable is shared by every replica: both are
    reported as degraded, not as unready, since a replica taken out of service would not see
    the call that finds the endpoint back."""
    values = {(s.name, s.labels.get("platform")): s.value for m in registry.collect() for s in m.samples}
    platforms = {
        platform: "connected" if value else "disconnected"
        for (name, platform), value in values.items()
        if name == "bot_platform_connected" and platform
    }
    redis = values.get(("bot_redis_up", None))
    model = values.get(("bot_model_reachable", None))
    return {
        "ready": bool(platforms) and all(state == "connected" for state in platforms.values()),
        "platforms": platforms,
        "redis": "not used" if redis is None else "ok" if redis else "degraded",
        "model": "unknown" if model is None else "reachable" if model else "unreachable",
    }


@asynccontextmanager
async def exporting(settings: Settings, worker: Worker, host: str = "0.0.0.0") -> AsyncIterator[None]:
    """Serve the routes on METRICS_PORT while the block runs, when it is set: in the one process,
    or in the supervisor of WORKERS (a worker serves none: the supervisor's scrape covers it)."""
    if settings.metrics_port is None or worker.shared:
        yield
        return
    with _registry(supervising=settings.workers > 1) as registry:
        app = web.Application()
        add_health_routes(app, registry)
        app.router.add_get("/metrics", _metrics(registry))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, settings.metrics_port).start()
        except OSError as error:
            await runner.cleanup()
            raise ConfigError(f"METRICS_PORT={settings.metrics_port}: cannot listen there ({error.strerror})") from None
        log.info("metrics at http://%s:%d/metrics (and /healthz, /readyz)", host, settings.metrics_port)
        try:
            yield
        finally:
            await runner.cleanup()


def _metrics(registry: CollectorRegistry) -> Any:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics


@contextmanager
def _registry(*, supervising: bool) -> Iterator[CollectorRegistry]:
    """This process's metrics, or, for a supervisor, those its workers write into a fresh
    directory (removed afterwards: values of a previous run must not be added in)."""
    if not supervising:
        yield REGISTRY
        return
    folder = tempfile.mkdtemp(prefix="bot-metrics-")
    os.environ[MULTIPROC_ENV] = folder  # the workers started next inherit it
    try:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
        yield registry
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
