# syntax=docker/dockerfile:1
# Build stage: resolve the locked runtime dependencies with uv and compile the locales.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /srv
COPY pyproject.toml uv.lock README.md ./
COPY packages/llmdoor/pyproject.toml packages/llmdoor/README.md ./packages/llmdoor/
RUN uv sync --frozen --no-dev --no-install-workspace
# The provider (a workspace member) goes into the venv as a plain wheel, not a link.
COPY packages ./packages
COPY app ./app
COPY locales ./locales
# The wheel build hook (the bot's wheel compiles its locales into app/locales).
COPY hatch_build.py ./
RUN uv sync --frozen --no-dev --no-editable \
 && .venv/bin/pybabel compile -d locales -D messages

# Runtime stage: the virtualenv and the code only, as an unprivileged user.
FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid bot --home-dir /srv --shell /usr/sbin/nologin bot
WORKDIR /srv
COPY --from=build --chown=bot:bot /srv/.venv ./.venv
COPY --from=build --chown=bot:bot /srv/app ./app
COPY --from=build --chown=bot:bot /srv/locales ./locales
ENV PATH="/srv/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True
# Numeric, so Kubernetes runAsNonRoot (and hadolint DL3066) can verify it is not root.
USER 10001:10001
EXPOSE 8080
# Checks the process is alive and, in webhook mode, that /healthz answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-m", "app.healthcheck"]
CMD ["python", "-m", "app"]
