# The reference server in a container: docker build -t conformance-reference . && docker run -p 8000:8000 conformance-reference
FROM python:3.12-slim

WORKDIR /src
# The wheel's build reads the schemas and fixtures (pyproject.toml force-includes them) and the README.
COPY pyproject.toml README.md ./
COPY conformance ./conformance
COPY schemas ./schemas
COPY fixtures ./fixtures
RUN pip install --no-cache-dir . \
    && useradd --system --no-create-home --uid 10001 conformance

USER conformance
WORKDIR /home
EXPOSE 8000
# `conformance serve` stops gracefully on SIGTERM: it stops accepting and finishes answers in flight.
STOPSIGNAL SIGTERM
# python:*-slim has no curl; a failed or non-2xx urlopen exits non-zero.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
# Exec form: the server is PID 1 and receives the stop signal itself.
CMD ["conformance", "serve", "--host", "0.0.0.0", "--port", "8000"]
