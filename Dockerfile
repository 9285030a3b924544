# modelward: the operator image. Also runs `modelward verify` as the runtime init container.
# Build: `buildah bud -t modelward .` (or docker build). Base pinned by name; pin by digest
# in a mirror that serves one.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python3 -m venv /opt/modelward \
 && /opt/modelward/bin/pip install --no-cache-dir . \
 && find /opt/modelward -name '__pycache__' -prune -exec rm -rf {} +

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 modelward \
 && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin modelward
COPY --from=build /opt/modelward /opt/modelward
ENV PATH=/opt/modelward/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp/modelward
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["modelward"]
CMD ["operator"]
