# One image for the API, the worker and beat.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libreoffice-core libreoffice-writer libreoffice-impress libreoffice-calc \
      fonts-crosextra-carlito fonts-crosextra-caladea fonts-dejavu-core poppler-utils python3-uno curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY service ./service
COPY workers ./workers
COPY doc_templates ./doc_templates
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --create-home --uid 10001 benchdocs \
 && mkdir -p /data/files /data/beat && chown -R benchdocs /data

USER benchdocs
ENV BENCHDOCS_FILE_STORE_DIR=/data/files \
    BENCHDOCS_TEMPLATES_DIR=/app/doc_templates \
    PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["benchdocs", "serve", "--host", "0.0.0.0", "--port", "8000"]
