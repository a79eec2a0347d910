"""What the bot counts, as Prometheus metrics (prometheus-client), recorded where each thing
happens: answers in bot.frontend.flows, model calls in bot.core.llm.retrying, tokens from each
answer's usage (`count_tokens`, a ChatEngine usage observer), Redis in bot.core.memory.health,
platform 429s in bot.frontend.pacing. `bot.monitoring` serves them.

With WORKERS, each worker writes its values into PROMETHEUS_MULTIPROC_DIR (set by the
supervisor) and the supervisor's one scrape adds them up; a gauge's `multiprocess_mode` says
how: a count in flight is summed over the live workers, a state (connected, reachable) is the
lowest of them, so one worker down reads as down."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from bot.core.errors import LLMError
from bot.core.usage import AnswerUsage

# Seconds, from what a person notices (a first word within a second or two) to a long answer
# that meets LLM_TIMEOUT_SECONDS.
_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)

ANSWERS = Counter(
    "bot_answers", "Answers and document summaries ended, by outcome: ok, or the message code shown instead",
    ["outcome"],
)
FIRST_TEXT_SECONDS = Histogram(
    "bot_answer_first_text_seconds", "From a question taken up to the model's first text", buckets=_SECONDS
)
ANSWER_SECONDS = Histogram(
    "bot_answer_seconds", "From a question taken up to its answer complete (or its failure shown)", buckets=_SECONDS
)
IN_FLIGHT = Gauge(
    "bot_answers_in_flight", "Answers and document summaries being made now", multiprocess_mode="livesum"
)
WAITING = Gauge(
    "bot_answers_waiting", "Model calls waiting for a free slot (LLM_MAX_CONCURRENCY)", multiprocess_mode="livesum"
)
MODEL_ERRORS = Counter(
    "bot_model_errors", "Failed model calls, retried ones included, by error type", ["type"]
)
TOKENS = Counter("bot_model_tokens", "Tokens sent to the model (in) and received from it (out)", ["direction"])
DOCUMENTS = Counter(
    "bot_documents", "Documents read, by format (unknown when unreadable) and outcome (ok or the message code)",
    ["format", "outcome"],
)
REDIS_UP = Gauge("bot_redis_up", "1 while Redis answers, 0 while it is unreachable", multiprocess_mode="livemin")
MODEL_REACHABLE = Gauge(
    "bot_model_reachable", "1 while the model's endpoint answers, 0 after a call found it unreachable",
    multiprocess_mode="livemin",
)
PLATFORM_CONNECTED = Gauge(
    "bot_platform_connected", "1 while connected to the platform (or listening for it)", ["platform"],
    multiprocess_mode="livemin",
)
PLATFORM_429S = Counter(
    "bot_platform_rate_limited", "HTTP 429 answers from a platform, by method", ["platform", "method"]
)

# The formats a document is read as (`bot.core.documents.sniff`'s names), written out: importing
# the documents package loads every reader (~45 MB), which a serving process leaves to its
# extraction process. A test keeps this in step with the readers.
DOCUMENT_FORMATS = (
    "pdf", "hwp", "hwpx", "hwp3", "hml", "image", "docx", "pptx", "xlsx", "doc", "xls", "ppt", "odt", "ods", "odp",
    "text",
)


def count_tokens(usage: AnswerUsage) -> None:
    TOKENS.labels("in").inc(usage.tokens_in)
    TOKENS.labels("out").inc(usage.tokens_out)


def start_at_zero(platform_methods: Iterable[tuple[str, str]] = ()) -> None:
    """Make the series of the label values known up front, at 0. prometheus-client makes a
    labelled series at its first `inc()`, so Prometheus's first sample of it would already be 1
    and `rate()`/`increase()` would never count that first answer, error, document or 429."""
    ANSWERS.labels("ok")
    for document_format in DOCUMENT_FORMATS:
        DOCUMENTS.labels(document_format, "ok")
    for direction in ("in", "out"):
        TOKENS.labels(direction)
    for code in _codes(LLMError):
        MODEL_ERRORS.labels(code)
    for platform, method in platform_methods:
        PLATFORM_429S.labels(platform, method)


def _codes(error: type[LLMError]) -> set[str]:
    return {error.code}.union(*(_codes(sub) for sub in error.__subclasses__()))
