# syntax=docker/dockerfile:1
# okrsync daemon: the core plus every connector; no development tools and no
# sandbox CRMs (connectors/sandbox and connectors/*-sandbox stay out of the image).
#   docker build -t okrsync .
#   docker run -v okrsync-state:/var/lib/okrsync -v ./mappings:/app/mappings:ro \
#              -v ./config:/app/config:ro --env-file okrsync.env -p 8080:8080 okrsync
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY okrsync ./okrsync
COPY connectors ./connectors
# the core and every connector (connectors/<name> is the distribution okrsync-<name>),
# with their dependencies only: no emulator and nothing only they need
# (tests/test_packaging.py runs this line)
# hadolint ignore=SC2046
RUN uv sync --frozen --no-dev --no-editable \
      $(for d in connectors/*/pyproject.toml; do d="${d#connectors/}"; d="${d%/pyproject.toml}"; \
        case "$d" in sandbox|*-sandbox) ;; *) printf -- '--package okrsync-%s ' "$d" ;; esac; done)

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app okrsync \
 && mkdir -p /var/lib/okrsync \
 && chown 10001:10001 /var/lib/okrsync
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# baked defaults; mount your own over them
COPY mappings ./mappings
COPY config ./config
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    OKRSYNC_STORE_URL=sqlite:////var/lib/okrsync/state.db \
    OKRSYNC_LOG__FORMAT=json
VOLUME ["/var/lib/okrsync"]
EXPOSE 8080
USER 10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["okrsync"]
CMD ["run"]
