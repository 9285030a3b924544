"""Metrics Service, ServiceMonitor and Grafana dashboard: they fit the operator's real metrics."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes_validate
import pytest

from modelward.record import metrics
from tests.chart.conftest import CHART, Helm, Manifest, only

DASHBOARD = CHART / "dashboards" / "modelward.json"
METRIC_NAME = re.compile(r"\bmodelward_[a-z_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def exported_series() -> dict[str, str]:
    """Every series name the operator exports, mapped to its metric family."""
    series = {}
    for metric in metrics.EXPORTED:
        for family in metric.describe():
            for suffix in SUFFIXES[family.type]:
                series[family.name + suffix] = family.name
    return series


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_dashboard_queries_name_only_exported_metrics() -> None:
    exported = exported_series()
    named = [name for expr in queries() for name in METRIC_NAME.findall(expr)]
    assert named, "the dashboard has no queries"
    assert sorted(set(named) - set(exported)) == []
    # And every family the operator exports is charted somewhere.
    assert {exported[name] for name in named} == set(exported.values())


def test_every_query_names_a_metric() -> None:
    assert all(METRIC_NAME.search(expr) for expr in queries())


def with_monitoring(helm: Helm) -> list[Manifest]:
    values: dict[str, Any] = {
        "metrics": {
            "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
            "dashboard": {"enabled": True, "namespace": "grafana"},
        }
    }
    return helm.render(values)


def test_service_monitor_scrapes_the_metrics_port(helm: Helm) -> None:
    docs = with_monitoring(helm)
    monitor = only(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    services = [d for d in docs if d["kind"] == "Service"]
    selected = [
        s
        for s in services
        if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    assert [s["metadata"]["name"] for s in selected] == ["modelward-metrics"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    (port,) = selected[0]["spec"]["ports"]
    assert endpoint["port"] == port["name"] == "metrics"
    (container,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert ports[port["targetPort"]] == int(env["MODELWARD_METRICS_PORT"]) == 8080


def test_dashboard_config_map_holds_the_dashboard(helm: Helm) -> None:
    docs = with_monitoring(helm)
    config_map = only(docs, "ConfigMap")
    assert config_map["metadata"]["namespace"] == "grafana"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["modelward.json"]) == json.loads(DASHBOARD.read_text())


@pytest.mark.parametrize("version", ["1.28", "1.33"])
def test_monitoring_objects_match_kubernetes_schemas(helm: Helm, version: str) -> None:
    for doc in with_monitoring(helm):
        if doc["kind"] == "ServiceMonitor":
            continue  # a CRD of the Prometheus Operator: no schema in kubernetes-validate
        kubernetes_validate.validate(doc, version, strict=True)


def test_monitoring_is_off_by_default_but_the_metrics_service_is_on(helm: Helm) -> None:
    kinds = [d["kind"] for d in helm.render({})]
    assert "ServiceMonitor" not in kinds
    assert "ConfigMap" not in kinds
    off = helm.render({"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}})
    assert [d["metadata"]["name"] for d in off if d["kind"] == "Service"] == ["modelward"]
    assert "ServiceMonitor" not in [d["kind"] for d in off]
