# The service image (docs/OPERATIONS.md "The image"). Build: `docker build -t virtual-house .`
# Run one migration step first, then any number of app processes with the same VH_* settings:
#   docker run --rm -e VH_DATABASE_URL=… -v vh-keys:/keys virtual-house vhouse migrate
#   docker run -e VH_DATABASE_URL=postgresql+asyncpg://… -e VH_BROKER_URL=redis://… \
#              -e VH_ALLOWED_ORIGINS='["https://…"]' -v vh-keys:/keys -p 8000:8000 virtual-house
# deploy/compose.yaml is the production topology (TLS proxy, N app processes, PostgreSQL, Redis).

# ---------------------------------------------------------------- builder: wheels and the venv
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/virtual-house
COPY pyproject.toml README.md ./
COPY app ./app
# Every dependency as a wheel, then installed into a venv the runtime stage copies whole. Only
# the runtime dependencies of pyproject.toml: never the test extras.
RUN pip wheel --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels /wheels/*.whl \
 && /opt/venv/bin/pip uninstall --yes virtual-house \
 && /opt/venv/bin/pip install --no-deps -e . \
 && rm -rf /wheels

# ---------------------------------------------------------------- runtime: slim, non-root
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    VH_SERVICE_KEY_FILE=/keys/service.key VH_KEY_DIR=/keys/buckets
RUN useradd --system --create-home --uid 10001 --user-group vhouse \
 && mkdir -p /keys && chown vhouse:vhouse /keys && chmod 700 /keys
WORKDIR /srv/virtual-house
COPY --from=builder /opt/venv /opt/venv
# The editable install points at this directory: migrations/, frontend/ and content/ are read
# beside app/ (app/migrate.py, app/pages/assets.py, app/pages/content.py).
COPY --from=builder /srv/virtual-house/pyproject.toml /srv/virtual-house/README.md ./
COPY app ./app
COPY migrations ./migrations
COPY frontend ./frontend
COPY content ./content
COPY alembic.ini ./

USER vhouse
VOLUME ["/keys"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-m", "app.probe", "8000"]
# `vhouse serve` sets the WebSocket limits itself (app/server.py: max frame VH_WS_MAX_FRAME_BYTES,
# no compression, pings): never start uvicorn directly, which would drop them.
CMD ["vhouse", "serve", "--host", "0.0.0.0", "--port", "8000"]
