"""With tls.mode=helm, upgrades keep the webhook's TLS Secret until it nears expiry.

`lookup` only reads a cluster during a server-side dry run, so these tests point Helm at the
Kubernetes emulator (tests/fixtures/kube.py) holding the Secret a previous install left.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import pathlib
from typing import Any

import pytest
import yaml

from tests.chart.conftest import CHART, NAMESPACE, Helm, Manifest, only
from tests.fixtures.kube import Kind, KubeApi, register_resources

# Kinds the chart renders that the emulator does not announce: Helm maps every object through
# discovery before its dry run.
CHART_KINDS = (
    Kind("", "v1", "services", "Service"),
    Kind("", "v1", "serviceaccounts", "ServiceAccount"),
    Kind("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
    Kind("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    Kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    Kind(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        namespaced=False,
    ),
)


@pytest.fixture
def cluster(kube_api: KubeApi) -> KubeApi:
    """The emulator, made to look enough like a cluster for a Helm server-side dry run."""
    kube_api.in_emulator(lambda emulator: register_resources(emulator, CHART_KINDS))
    core = kube_api.request("GET", "/api/v1")
    core["groupVersion"] = "v1"  # kmock says "/v1", which Helm 4's mapper does not match

    def serve(emulator: Any) -> None:
        # kmock reports 1.26, below the chart's kubeVersion; Helm 4 also fetches OpenAPI.
        emulator["get /version"] << {"major": "1", "minor": "33", "gitVersion": "v1.33.0"}
        emulator["get /openapi/v3"] << {"paths": {}}
        emulator["get /api/v1"] << core

    kube_api.in_emulator(serve)
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    return kube_api


def leave_secret(cluster: KubeApi, not_after: str | None) -> dict[str, str]:
    """The TLS Secret as a previous release left it; returns its (encoded) data."""
    data = {
        name: base64.b64encode(f"previous {name}\n".encode()).decode()
        for name in ("ca.crt", "tls.crt", "tls.key")
    }
    annotations = {
        "meta.helm.sh/release-name": "modelward",
        "meta.helm.sh/release-namespace": NAMESPACE,
    }
    if not_after is not None:
        annotations["modelward.io/tls-not-after"] = not_after
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {
                "name": "modelward-tls",
                "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "Helm"},
                "annotations": annotations,
            },
            "data": data,
        }
    )
    return data


def upgrade(helm: Helm, cluster: KubeApi, home: pathlib.Path) -> list[Manifest]:
    """What an upgrade would apply, rendered against the cluster."""
    out = helm.run(
        "template", "modelward", str(CHART), "--namespace", NAMESPACE, "--set", "tls.mode=helm",
        "--dry-run=server", "--disable-openapi-validation",
        "--kubeconfig", str(cluster.kubeconfig),
        home=home,
    )  # fmt: skip
    return [doc for doc in yaml.safe_load_all(out) if doc]


def in_days(days: int) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_upgrade_keeps_a_valid_certificate(
    helm: Helm, cluster: KubeApi, tmp_path: pathlib.Path
) -> None:
    not_after = in_days(200)
    previous = leave_secret(cluster, not_after)
    docs = upgrade(helm, cluster, tmp_path)
    secret = only(docs, "Secret")
    assert secret["data"] == previous
    assert secret["metadata"]["annotations"]["modelward.io/tls-not-after"] == not_after
    (hook,) = only(docs, "ValidatingWebhookConfiguration")["webhooks"]
    assert hook["clientConfig"]["caBundle"] == previous["ca.crt"]
    # Same certificate, same pod template: the upgrade restarts nothing for TLS.
    annotations = only(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/tls"] == hashlib.sha256(b"previous tls.crt\n").hexdigest()


@pytest.mark.parametrize(
    "not_after",
    [
        pytest.param(in_days(29), id="expires-within-30-days"),
        pytest.param(in_days(-1), id="expired"),
        pytest.param(None, id="expiry-unknown"),
        pytest.param("soon", id="expiry-unreadable"),
    ],
)
def test_upgrade_renews_a_certificate_near_expiry(
    helm: Helm, cluster: KubeApi, tmp_path: pathlib.Path, not_after: str | None
) -> None:
    previous = leave_secret(cluster, not_after)
    docs = upgrade(helm, cluster, tmp_path)
    secret = only(docs, "Secret")
    assert set(secret["data"].values()).isdisjoint(previous.values())
    renewed = datetime.datetime.fromisoformat(
        secret["metadata"]["annotations"]["modelward.io/tls-not-after"]
    )
    assert renewed > datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3600)
    (hook,) = only(docs, "ValidatingWebhookConfiguration")["webhooks"]
    assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
