# modelward: the operator image. Also runs `modelward verify` as the runtime init container.
# Build: `make image` (buildah, scripts/image.sh), or `docker build .`. The base is pinned by
# name; where a registry serves it, pin it by digest (FROM debian:bookworm-slim@sha256:...).

# What runs: Debian's Python 3.11, CA certificates, an unprivileged user.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --gid 65532 modelward \
 && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin modelward

# modelward and its dependencies, in a virtual environment copied whole into the final image.
FROM runtime AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
# Packages come from the index, or from wheels mounted at /wheels (scripts/image.sh builds them
# on the host with its own pip configuration); behind a TLS-intercepting proxy, pass its CA
# bundle as the build secret `pip-ca`. Neither enters a layer. pip and setuptools are removed
# afterwards: nothing installs at run time.
RUN --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && if ls /wheels/*.whl >/dev/null 2>&1; then export PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels; fi \
 && python3 -m venv /opt/modelward \
 && /opt/modelward/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && /opt/modelward/bin/python -m pip uninstall --yes --quiet pip setuptools \
 && find /opt/modelward -name '__pycache__' -prune -exec rm -rf {} +

FROM runtime
COPY --from=build /opt/modelward /opt/modelward
ENV PATH=/opt/modelward/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp/modelward
USER 65532:65532
# 8443: the webhook; 8080: /metrics, /healthz, /readyz.
EXPOSE 8443 8080
ENTRYPOINT ["modelward"]
CMD ["operator"]
