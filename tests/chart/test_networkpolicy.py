"""The optional NetworkPolicy: off by default; when on, it opens exactly the operator's ports."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.chart.conftest import Helm, kinds, only

MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
DNS_ONLY = [{"ports": [{"port": 53, "protocol": "UDP"}]}]


def test_off_by_default(helm: Helm) -> None:
    assert "NetworkPolicy" not in kinds(helm.render({}))


@pytest.mark.parametrize("version", ["1.28", "1.33"])
@pytest.mark.parametrize(
    ("values", "metrics_from", "egress"),
    [
        ({}, None, [{}]),
        ({"metricsFrom": [MONITORING], "egress": DNS_ONLY}, [MONITORING], DNS_ONLY),
    ],
)
def test_opens_the_webhook_and_metrics_ports(
    helm: Helm,
    version: str,
    values: dict[str, Any],
    metrics_from: list[dict[str, Any]] | None,
    egress: list[dict[str, Any]],
) -> None:
    docs = helm.render({"networkPolicy": {"enabled": True, **values}})
    policy = only(docs, "NetworkPolicy")
    kubernetes_validate.validate(policy, version, strict=True)
    spec = policy["spec"]
    pod = only(docs, "Deployment")["spec"]["template"]
    assert spec["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    named = {p["name"] for p in container["ports"]}
    webhook, metrics = spec["ingress"]
    assert [p["port"] for p in webhook["ports"]] == ["https"]
    assert "from" not in webhook  # the API server is not a pod: any source
    assert [p["port"] for p in metrics["ports"]] == ["metrics"]
    assert metrics.get("from") == metrics_from
    assert {"https", "metrics"} <= named
    assert spec["egress"] == egress
