"""The webhook certificate's three sources: the operator (default), Helm, cert-manager."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest

from tests.chart.conftest import (
    CHART,
    NAMESPACE,
    Helm,
    HelmError,
    Manifest,
    kinds,
    named,
    only,
)


def env(docs: list[Manifest]) -> dict[str, str]:
    (container,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {
        (group, resource, verb, tuple(rule.get("resourceNames", ())))
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_operator_mode_may_write_only_its_own_secret_and_webhook(helm: Helm) -> None:
    docs = helm.render({})
    role = named(docs, "Role", "modelward-tls")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert grants(role["rules"]) == {
        ("", "secrets", "create", ()),
        ("", "secrets", "get", ("modelward-tls",)),
        ("", "secrets", "patch", ("modelward-tls",)),
    }
    binding = named(docs, "RoleBinding", "modelward-tls")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "modelward", "namespace": NAMESPACE}
    ]
    webhook_rules = [
        g
        for g in grants(named(docs, "ClusterRole", "modelward")["rules"])
        if g[1] == "validatingwebhookconfigurations"
    ]
    assert sorted(webhook_rules) == [
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations", verb, ("modelward",))
        for verb in ("get", "patch")
    ]
    # What the operator is told to manage is exactly what it may manage.
    variables = env(docs)
    assert variables["MODELWARD_TLS_SECRET"] == "modelward-tls"
    configuration = only(docs, "ValidatingWebhookConfiguration")["metadata"]["name"]
    assert variables["MODELWARD_WEBHOOK_CONFIGURATIONS"] == configuration
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    assert variables["MODELWARD_SERVICE_NAME"] in services
    assert "Secret" not in kinds(docs)


@pytest.mark.parametrize(
    ("cert_manager", "issuer"),
    [
        ({}, ("Issuer", "modelward-selfsigned")),
        ({"issuerName": "corp-ca", "issuerKind": "ClusterIssuer"}, ("ClusterIssuer", "corp-ca")),
    ],
)
def test_cert_manager_mode(
    helm: Helm, cert_manager: dict[str, Any], issuer: tuple[str, str]
) -> None:
    docs = helm.render({"tls": {"mode": "certManager", "certManager": cert_manager}})
    certificate = only(docs, "Certificate")
    assert certificate["spec"]["secretName"] == "modelward-tls"
    assert "modelward.modelward.svc" in certificate["spec"]["dnsNames"]
    ref = certificate["spec"]["issuerRef"]
    assert (ref["kind"], ref["name"]) == issuer
    issuers = [d for d in docs if d["kind"] == "Issuer"]
    assert [i["metadata"]["name"] for i in issuers] == (
        ["modelward-selfsigned"] if not cert_manager else []
    )
    configuration = only(docs, "ValidatingWebhookConfiguration")
    assert configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == (
        f"{NAMESPACE}/{certificate['metadata']['name']}"
    )
    (hook,) = configuration["webhooks"]
    assert "caBundle" not in hook["clientConfig"]
    spec = only(docs, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "tls"]
    assert volume["secret"]["secretName"] == "modelward-tls"
    assert env(docs)["MODELWARD_TLS_CERT"] == "/etc/modelward/tls/tls.crt"
    assert "Secret" not in kinds(docs)
    assert not [d for d in docs if d["metadata"]["name"] == "modelward-tls"]
    for doc in docs:
        if doc["kind"] not in ("Certificate", "Issuer"):
            kubernetes_validate.validate(doc, "1.33", strict=True)


@pytest.mark.parametrize("mode", ["operator", "helm", "certManager"])
def test_every_mode_lints(helm: Helm, mode: str) -> None:
    out = helm.run(
        "lint", str(CHART), "--strict", "--namespace", NAMESPACE, "--values", "-",
        stdin=json.dumps({"tls": {"mode": mode}}),
    )  # fmt: skip
    assert "1 chart(s) linted, 0 chart(s) failed" in out


def test_unknown_mode_is_refused(helm: Helm) -> None:
    with pytest.raises(HelmError, match="must be one of"):
        helm.render({"tls": {"mode": "vault"}})
