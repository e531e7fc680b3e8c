# The service image: `docker build -t virtual-house .` then run with VH_* settings, e.g.
#   docker run -e VH_DATABASE_URL=postgresql+asyncpg://… -e VH_ALLOWED_ORIGINS='["https://…"]' \
#              -p 8000:8000 virtual-house
# TLS is terminated by the proxy in front (see docs/OPERATIONS.md once it lands).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 vhouse
WORKDIR /srv/virtual-house

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY frontend ./frontend
COPY content ./content
# Editable install keeps migrations/, frontend/ and content/ where the app looks for them (beside app/).
RUN pip install -e . && mkdir -p var && chown vhouse var

USER vhouse
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
CMD ["vhouse", "serve", "--host", "0.0.0.0", "--port", "8000", "--migrate"]
