# syntax=docker/dockerfile:1
# okrsync daemon image: the core plus both connectors, no development tools.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY okrsync ./okrsync
COPY connectors ./connectors
RUN uv sync --frozen --all-packages --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app okrsync
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY mappings ./mappings
COPY config ./config
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1
USER 10001
ENTRYPOINT ["okrsync"]
CMD ["validate"]
