# One image for every Vila process: api, worker, beat. The command picks the role.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# WeasyPrint (the pilot report's PDF) needs Pango and a font from the system.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY kernel ./kernel
COPY policies ./policies
COPY notify ./notify
COPY pilot ./pilot
COPY api ./api
COPY workers ./workers
COPY vila ./vila
COPY tools ./tools
RUN pip install --no-deps . && useradd --system --uid 10001 --home-dir /var/lib/vila --create-home vila

USER vila
ENV VILA_DATA_DIR=/var/lib/vila VILA_HOST=0.0.0.0 VILA_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=5 CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["vila", "api", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
