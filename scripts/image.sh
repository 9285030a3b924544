#!/usr/bin/env bash
# Builds the modelward image with buildah (no Docker engine needed).
#
# The Dockerfile's base, debian:bookworm-slim, is made locally with debootstrap from this
# machine's own Debian mirror (read from /etc/apt/sources.list*) when no image registry can
# serve it; its root filesystem is cached under .cache/image so reruns only build modelward.
#
#   scripts/image.sh [IMAGE]        default IMAGE: localhost/modelward:<version>
# Env: MODELWARD_IMAGE_CACHE (base root filesystem, wheels; default .cache/image),
# MODELWARD_IMAGE_ROOT (buildah storage, default $MODELWARD_IMAGE_CACHE/storage).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' operator/modelward/__init__.py)
image=${1:-localhost/modelward:$version}
base=debian:bookworm-slim
suite=bookworm
cache=${MODELWARD_IMAGE_CACHE:-.cache/image}
root=${MODELWARD_IMAGE_ROOT:-$cache/storage}
mkdir -p "$cache" "$root"
root=$(cd "$root" && pwd)

need=()
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "image: ${need[*]} missing and cannot apt-get install (not root)" >&2
        exit 1
    fi
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# vfs: works in any container without overlay support; chroot: no user namespaces needed.
bah() { buildah --root "$root" --runroot "$root/run" --storage-driver vfs "$@"; }

# The first Debian mirror that serves $suite, from one-line or deb822 sources.
mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v s="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $(i+1) == s) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
            { uri = ""; ok = 0
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
                  if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
              }
              if (ok && uri != "") { print uri; exit } }' "$f"
    done
}

if ! bah inspect --type image "$base" >/dev/null 2>&1; then
    rootfs=$cache/$suite-minbase.tar
    if [ ! -s "$rootfs" ]; then
        url=$(mirror | head -n1)
        if [ -z "$url" ]; then
            echo "image: no Debian mirror for $suite in /etc/apt/sources.list*" >&2
            exit 1
        fi
        dir=$(mktemp -d "$cache/rootfs.XXXXXX")
        trap 'rm -rf "$dir"' EXIT
        echo "image: debootstrap $suite from the machine's mirror"
        debootstrap --variant=minbase "$suite" "$dir" "$url" >"$cache/debootstrap.log" 2>&1 \
            || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
        rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
        tar -C "$dir" --numeric-owner -cf "$rootfs.tmp" . && mv "$rootfs.tmp" "$rootfs"
        rm -rf "$dir"
        trap - EXIT
    fi
    ctx=$(mktemp -d "$cache/base.XXXXXX")
    ln "$rootfs" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs" "$ctx/rootfs.tar"
    printf 'FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n' >"$ctx/Containerfile"
    bah bud --quiet --isolation chroot -t "$base" -f "$ctx/Containerfile" "$ctx" >/dev/null
    rm -rf "$ctx"
fi

echo "image: building $image"
# pip inside the build trusts what this machine trusts (a TLS-intercepting proxy's CA, if any).
ca=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")' 2>/dev/null || true)
secret=()
[ -n "${PIP_CERT:-}" ] && [ -s "$PIP_CERT" ] && ca=$PIP_CERT
[ -n "$ca" ] && [ -s "$ca" ] && secret=(--secret "id=pip-ca,src=$ca")
# Wheels for every dependency, built here with this machine's pip configuration and caches,
# are mounted at /wheels for the build: no download inside the build.
py=.venv/bin/python
[ -x "$py" ] || py=python3
# One directory per pyproject.toml, built aside and renamed into place: builds running side by
# side (or with other dependencies) never see a half-written or foreign wheel set.
wheels=$cache/wheels-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -d "$wheels" ]; then
    building=$(mktemp -d "$cache/wheels.build.XXXXXX")
    "$py" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$building" . hatchling \
        2> >(grep -v "is ignored: it is neither" >&2) >/dev/null
    rm -f "$building"/modelward-*.whl  # the image builds modelward from the sources it copies
    mv -T "$building" "$wheels" 2>/dev/null || rm -rf "$building"  # another build won the race
fi
bah bud --quiet --isolation chroot --pull=never --layers=false "${secret[@]}" \
    --volume "$(cd "$wheels" && pwd):/wheels:ro" -t "$image" -f Dockerfile . >/dev/null
bah inspect --type image --format '{{.FromImageID}}' "$image" >/dev/null
echo "$image"
