"""The chart, linted and rendered by real Helm 3 and Helm 4, with concrete content asserted."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import pathlib
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.chart.conftest import (
    CHART,
    NAMESPACE,
    Helm,
    HelmError,
    Manifest,
    crd_errors,
    kinds,
    named,
    only,
)

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a current one.
KUBERNETES_VERSIONS = ["1.28", "1.33"]

CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "CustomResourceDefinition",
}

WORKLOAD_RULES = {
    ("", "v1", "pods"),
    ("", "v1", "replicationcontrollers"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
    ("apps", "v1", "replicasets"),
    ("batch", "v1", "jobs"),
    ("batch", "v1", "cronjobs"),
    ("serving.kserve.io", "v1beta1", "inferenceservices"),
    ("serving.kserve.io", "v1alpha1", "trainedmodels"),
    ("serving.kserve.io", "v1alpha1", "localmodelcaches"),
    ("mlops.seldon.io", "v1alpha1", "models"),
    ("machinelearning.seldon.io", "v1", "seldondeployments"),
    ("kubeai.org", "v1", "models"),
}
# Cluster-scoped kinds; every other rule is Namespaced.
CLUSTER_RULES = {("serving.kserve.io", "v1alpha1", "localmodelcaches")}
EXTRA_RULE = ("ml.example.com", "v1", "servingjobs")
LLM_RULE = ("serving.kserve.io", "v1alpha1", "llminferenceservices")

SELECTOR = {"app.kubernetes.io/name": "modelward", "app.kubernetes.io/instance": "modelward"}


def webhook(docs: list[Manifest]) -> dict[str, Any]:
    """The one webhook of the ValidatingWebhookConfiguration."""
    (hook,) = only(docs, "ValidatingWebhookConfiguration")["webhooks"]
    return hook  # type: ignore[no-any-return]


def rules(docs: list[Manifest]) -> set[tuple[str, str, str]]:
    """The webhook's rules as (group, version, resource), each checked to be CREATE/UPDATE."""
    found: set[tuple[str, str, str]] = set()
    for rule in webhook(docs)["rules"]:
        assert rule["operations"] == ["CREATE", "UPDATE"]
        for group in rule["apiGroups"]:
            for version in rule["apiVersions"]:
                for resource in rule["resources"]:
                    key = (group, version, resource)
                    assert rule["scope"] == ("Cluster" if key in CLUSTER_RULES else "Namespaced")
                    found.add(key)
    return found


def pod_spec(docs: list[Manifest]) -> dict[str, Any]:
    return only(docs, "Deployment")["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def container(docs: list[Manifest]) -> dict[str, Any]:
    (operator,) = pod_spec(docs)["containers"]
    return operator  # type: ignore[no-any-return]


def env(docs: list[Manifest]) -> dict[str, Any]:
    """The container's environment: plain values as strings, the rest as their source."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(docs)["env"]}


def excluded_namespaces(docs: list[Manifest]) -> list[str]:
    expressions = webhook(docs)["namespaceSelector"]["matchExpressions"]
    (by_name,) = [e for e in expressions if e["key"] == "kubernetes.io/metadata.name"]
    assert by_name["operator"] == "NotIn"
    return by_name["values"]  # type: ignore[no-any-return]


def check_default(docs: list[Manifest]) -> None:
    assert sorted(kinds(docs)) == sorted(
        [
            "ServiceAccount",
            "Role",  # the operator's own TLS Secret (tls.mode=operator)
            "RoleBinding",
            "Role",  # the Lease electing the replica that does the background work
            "RoleBinding",
            "ClusterRole",
            "ClusterRole",  # for CI: request pre-verifications
            "ClusterRoleBinding",
            "Service",
            "Service",  # metrics
            "Deployment",
            "PodDisruptionBudget",
            "ValidatingWebhookConfiguration",
        ]
    )
    configuration = only(docs, "ValidatingWebhookConfiguration")
    assert configuration["metadata"]["name"] == "modelward"
    hook = webhook(docs)
    assert hook["name"] == "models.modelward.io"
    assert hook["clientConfig"]["service"] == {
        "name": "modelward",
        "namespace": NAMESPACE,
        "port": 443,
        "path": "/models",
    }
    assert hook["failurePolicy"] == "Fail"
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["matchPolicy"] == "Equivalent"
    assert hook["timeoutSeconds"] == 10
    assert rules(docs) == WORKLOAD_RULES | {LLM_RULE}
    assert hook["namespaceSelector"] == {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-system", NAMESPACE],
            },
            {"key": "modelward.io/ignore", "operator": "NotIn", "values": ["true"]},
        ]
    }

    deployment = only(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"]["matchLabels"] == SELECTOR
    spec = pod_spec(docs)
    assert spec["serviceAccountName"] == only(docs, "ServiceAccount")["metadata"]["name"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 65532
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    operator = container(docs)
    assert operator["image"] == "modelward:0.1.0"
    assert [*operator["command"], *operator["args"]] == ["modelward", "operator"]
    assert operator["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert operator["ports"] == [
        {"name": "https", "containerPort": 8443, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 8080, "protocol": "TCP"},
    ]
    for probe, path in [
        ("startupProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
    ]:
        assert operator[probe]["httpGet"] == {"path": path, "port": "metrics"}
    assert operator["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    }
    assert env(docs) == {
        "MODELWARD_NAMESPACE": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        "MODELWARD_NO_MATCH": "deny",
        "MODELWARD_TIMEOUT_SECONDS": "10",
        "MODELWARD_PIN_DIGESTS": "false",
        "MODELWARD_WEBHOOK_PORT": "8443",
        "MODELWARD_METRICS_PORT": "8080",
        "MODELWARD_TLS_SECRET": "modelward-tls",
        "MODELWARD_SERVICE_NAME": "modelward",
        "MODELWARD_WEBHOOK_CONFIGURATIONS": "modelward",
        "MODELWARD_S3_ENDPOINT": "",
        "MODELWARD_S3_REGION": "us-east-1",
        "MODELWARD_GCS_ENDPOINT": "",
        "MODELWARD_WORK_DIR": "/tmp/modelward",
        "MODELWARD_RECORDS": "true",
        "MODELWARD_RECORD_TTL_SECONDS": "86400",
        "MODELWARD_RECHECK_INTERVAL_SECONDS": "60",
        "MODELWARD_AUDIT_INTERVAL_SECONDS": "600",
        "POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}},
        "TMPDIR": "/tmp/modelward",
    }
    # The operator makes its own certificate: nothing to mount, caBundle patched in later.
    mounts = {m["name"]: m for m in operator["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "tls" not in mounts
    assert "tls" not in volumes
    assert "caBundle" not in hook["clientConfig"]
    assert mounts["work"]["mountPath"] == "/tmp/modelward"
    assert volumes["work"] == {"name": "work", "emptyDir": {"sizeLimit": "20Gi"}}
    (spread,) = spec["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert spread["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert spread["podAffinityTerm"]["labelSelector"]["matchLabels"] == SELECTOR

    (service,) = [
        d
        for d in docs
        if d["kind"] == "Service"
        and d["metadata"]["name"] == hook["clientConfig"]["service"]["name"]
    ]
    assert service["spec"]["selector"] == SELECTOR
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}
    ]

    budget = only(docs, "PodDisruptionBudget")
    assert budget["spec"] == {"minAvailable": 1, "selector": {"matchLabels": SELECTOR}}


def check_single_replica(docs: list[Manifest]) -> None:
    assert only(docs, "Deployment")["spec"]["replicas"] == 1
    assert "PodDisruptionBudget" not in kinds(docs)


def check_fail_open(docs: list[Manifest]) -> None:
    assert webhook(docs)["failurePolicy"] == "Ignore"
    assert webhook(docs)["timeoutSeconds"] == 30
    assert env(docs)["MODELWARD_TIMEOUT_SECONDS"] == "30"


def check_no_match_warn(docs: list[Manifest]) -> None:
    assert env(docs)["MODELWARD_NO_MATCH"] == "warn"
    assert webhook(docs)["failurePolicy"] == "Fail"


def check_egress_and_limits(docs: list[Manifest]) -> None:
    variables = env(docs)
    assert variables["MODELWARD_BLOCKED_NETWORKS"] == "10.96.0.0/12,10.244.0.0/16"
    assert variables["MODELWARD_EGRESS_ALLOW"] == "10.96.0.10,registry.internal"
    assert variables["MODELWARD_HF_ENDPOINT"] == "https://hub.example.test"
    assert variables["MODELWARD_MAX_ARTIFACT_BYTES"] == "137438953472"
    assert variables["MODELWARD_MAX_FILES"] == "500"
    assert variables["MODELWARD_DOWNLOAD_TIMEOUT_SECONDS"] == "7.5"
    assert "MODELWARD_MAX_UNPACKED_BYTES" not in variables


def check_no_llm(docs: list[Manifest]) -> None:
    assert rules(docs) == WORKLOAD_RULES


def check_extra_rules(docs: list[Manifest]) -> None:
    assert rules(docs) == WORKLOAD_RULES | {LLM_RULE, EXTRA_RULE}


def check_pin_digests(docs: list[Manifest]) -> None:
    assert env(docs)["MODELWARD_PIN_DIGESTS"] == "true"
    (hook,) = only(docs, "MutatingWebhookConfiguration")["webhooks"]
    validating = webhook(docs)
    assert hook["clientConfig"]["service"]["path"] == "/pin"
    # The same CA: rendered into both (tls.mode helm), or patched into both by the operator.
    assert hook["clientConfig"].get("caBundle") == validating["clientConfig"].get("caBundle")
    # Pinning sees exactly what validation sees.
    for field in ("rules", "namespaceSelector", "failurePolicy", "timeoutSeconds", "sideEffects"):
        assert hook[field] == validating[field], field


def check_runtime_checks(docs: list[Manifest]) -> None:
    assert env(docs)["MODELWARD_VERIFIER_IMAGE"] == container(docs)["image"]
    assert env(docs)["MODELWARD_PIN_DIGESTS"] == "false"
    (hook,) = only(docs, "MutatingWebhookConfiguration")["webhooks"]
    assert hook["clientConfig"]["service"]["path"] == "/pin"


def check_customised(docs: list[Manifest]) -> None:
    assert kinds(docs)[0] == "Namespace"
    namespace = only(docs, "Namespace")
    assert namespace["metadata"]["name"] == NAMESPACE
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # An existing ServiceAccount and self-managed RBAC: the chart renders neither.
    assert not {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"} & set(kinds(docs))
    spec = pod_spec(docs)
    assert spec["serviceAccountName"] == "existing-sa"
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["imagePullSecrets"] == [{"name": "pull"}]
    assert spec["nodeSelector"] == {"pool": "system"}
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert spec["affinity"] == {"nodeAffinity": CUSTOM_NODE_AFFINITY}
    assert container(docs)["image"] == f"example.test/modelward:0.1.0@sha256:{'a' * 64}"
    # Helm merges maps: the default memory request and limit stay.
    assert container(docs)["resources"] == {
        "requests": {"cpu": "1", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    }
    assert {"name": "work", "emptyDir": {"sizeLimit": "50Gi"}} in spec["volumes"]
    template = only(docs, "Deployment")["spec"]["template"]["metadata"]
    assert template["labels"]["team"] == "ml"
    assert template["annotations"]["example.test/scrape"] == "true"
    assert only(docs, "Deployment")["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "modelward",
        "app.kubernetes.io/instance": "modelward",
    }
    assert {doc["metadata"]["name"] for doc in docs} == {NAMESPACE, "mw", "mw-tls", "mw-metrics"}
    assert webhook(docs)["clientConfig"]["service"]["name"] == "mw"
    assert excluded_namespaces(docs) == ["kube-system", "monitoring", NAMESPACE]
    assert only(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == "50%"


CUSTOM_NODE_AFFINITY = {
    "requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["system"]}]}
        ]
    }
}

SCENARIOS: dict[str, tuple[dict[str, Any], Callable[[list[Manifest]], None]]] = {
    "default": ({}, check_default),
    "single-replica": ({"replicaCount": 1}, check_single_replica),
    "fail-open": (
        {"webhook": {"failurePolicy": "Ignore", "timeoutSeconds": 30}},
        check_fail_open,
    ),
    "no-match-warn": ({"policy": {"noMatch": "warn"}}, check_no_match_warn),
    "no-llm": ({"webhook": {"llmInferenceServices": False}}, check_no_llm),
    "extra-rules": (
        {
            "webhook": {
                "extraRules": [
                    {
                        "apiGroups": ["ml.example.com"],
                        "apiVersions": ["v1"],
                        "resources": ["servingjobs"],
                    }
                ]
            }
        },
        check_extra_rules,
    ),
    "pin-digests": (
        {
            "webhook": {
                "mutate": {"pinDigests": True},
                "extraRules": [
                    {"apiGroups": ["ml.example.com"], "apiVersions": ["v1"], "resources": ["jobs"]}
                ],
            }
        },
        check_pin_digests,
    ),
    "runtime-checks": ({"webhook": {"mutate": {"runtimeChecks": True}}}, check_runtime_checks),
    "egress-and-limits": (
        {
            "egress": {
                "blockedNetworks": ["10.96.0.0/12", "10.244.0.0/16"],
                "allow": ["10.96.0.10", "registry.internal"],
            },
            "huggingFace": {"endpoint": "https://hub.example.test"},
            "limits": {
                "maxArtifactBytes": 137438953472,
                "maxFiles": 500,
                "downloadTimeoutSeconds": 7.5,
            },
        },
        check_egress_and_limits,
    ),
    "customised": (
        {
            "fullnameOverride": "mw",
            "replicaCount": 3,
            "image": {"repository": "example.test/modelward", "digest": "sha256:" + "a" * 64},
            "imagePullSecrets": [{"name": "pull"}],
            "namespace": {"create": True},
            "serviceAccount": {"create": False, "name": "existing-sa"},
            "rbac": {"create": False},
            "webhook": {"excludedNamespaces": ["kube-system", "monitoring"]},
            "workDir": {"sizeLimit": "50Gi"},
            "resources": {"requests": {"cpu": "1"}},
            "podDisruptionBudget": {"minAvailable": "50%"},
            "podAnnotations": {"example.test/scrape": "true"},
            "podLabels": {"team": "ml"},
            "nodeSelector": {"pool": "system"},
            "tolerations": [{"key": "dedicated", "operator": "Exists"}],
            "affinity": {"nodeAffinity": CUSTOM_NODE_AFFINITY},
            "priorityClassName": "system-cluster-critical",
            "tls": {"mode": "helm"},
        },
        check_customised,
    ),
}


@functools.cache
def rendered(helm: Helm, scenario: str) -> list[Manifest]:
    """The scenario's render, CRDs included, computed once per helm binary."""
    return helm.render(SCENARIOS[scenario][0], "--include-crds")


def without_crds(docs: list[Manifest]) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] != "CustomResourceDefinition"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint(helm: Helm, scenario: str) -> None:
    out = helm.run(
        "lint",
        str(CHART),
        "--strict",
        "--namespace",
        NAMESPACE,
        "--values",
        "-",
        stdin=json.dumps(SCENARIOS[scenario][0]),
    )
    assert "1 chart(s) linted, 0 chart(s) failed" in out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_render(helm: Helm, scenario: str) -> None:
    docs = without_crds(rendered(helm, scenario))
    for doc in docs:
        if doc["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in doc["metadata"], doc["kind"]
        else:
            # Set explicitly, so `kubectl apply` of a render lands in the right namespace.
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["kind"]
    SCENARIOS[scenario][1](docs)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_objects_match_kubernetes_schemas(helm: Helm, scenario: str, version: str) -> None:
    docs = rendered(helm, scenario)
    assert kinds(docs).count("CustomResourceDefinition") == 6
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {where}: {error.message}")


def test_release_namespace_is_always_excluded(helm: Helm) -> None:
    docs = helm.render({"webhook": {"excludedNamespaces": []}}, namespace="ml-guard")
    assert excluded_namespaces(docs) == ["ml-guard"]
    assert webhook(docs)["clientConfig"]["service"]["namespace"] == "ml-guard"
    assert only(docs, "ClusterRoleBinding")["subjects"] == [
        {"kind": "ServiceAccount", "name": "modelward", "namespace": "ml-guard"}
    ]


def test_cluster_role_is_least_privilege(helm: Helm) -> None:
    role = named(rendered(helm, "default"), "ClusterRole", "modelward")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    policies = {"clustermodelpolicies", "modelpolicies", "trustroots", "modelpolicyexceptions"}
    expected = {
        *{("modelward.io", r, v) for r in policies for v in ("get", "list", "watch", "patch")},
        *{("modelward.io", f"{r}/status", v) for r in policies for v in ("get", "patch")},
        *{("modelward.io", "modelextractors", v) for v in ("get", "list", "watch", "patch")},
        *{("modelward.io", "modelextractors/status", v) for v in ("get", "patch")},
        *{("modelward.io", "modelverifications", v) for v in ("get", "list", "watch")},
        ("modelward.io", "modelverifications", "create"),
        ("modelward.io", "modelverifications", "delete"),
        *{("modelward.io", "modelverifications/status", v) for v in ("get", "patch")},
        # The audit: what runs models, listed only.
        ("", "pods", "list"),
        *{("serving.kserve.io", r, "list") for r in ("inferenceservices", "trainedmodels")},
        ("serving.kserve.io", "llminferenceservices", "list"),
        ("mlops.seldon.io", "models", "list"),
        ("kubeai.org", "models", "list"),
        ("machinelearning.seldon.io", "seldondeployments", "list"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
        ("", "secrets", "get"),
        ("", "configmaps", "get"),
        ("", "serviceaccounts", "get"),
        *{(g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")},
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        # tls.mode=operator: its own webhook configuration's caBundle, by name.
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "get"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "patch"),
    }
    assert granted == expected


def test_runtime_checks_may_read_claims_and_records(helm: Helm) -> None:
    docs = helm.render({"webhook": {"mutate": {"runtimeChecks": True}}})
    rules = named(docs, "ClusterRole", "modelward")["rules"]
    assert {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get"]} in rules
    assert {
        "apiGroups": ["modelward.io"],
        "resources": ["modelverifications"],
        "verbs": ["get"],
    } in rules


def test_tls_material_is_consistent(helm: Helm) -> None:
    docs = helm.render({"tls": {"mode": "helm"}})
    secret = only(docs, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    data = {key: base64.b64decode(value) for key, value in secret["data"].items()}
    ca = x509.load_pem_x509_certificate(data["ca.crt"])
    leaf = x509.load_pem_x509_certificate(data["tls.crt"])
    leaf.verify_directly_issued_by(ca)
    key = serialization.load_pem_private_key(data["tls.key"], password=None)
    assert key.public_key() == leaf.public_key()
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {
        "modelward",
        "modelward.modelward",
        "modelward.modelward.svc",
    }
    # The API server trusts the CA in the Secret, and pods restart when the certificate changes.
    assert base64.b64decode(webhook(docs)["clientConfig"]["caBundle"]) == data["ca.crt"]
    annotations = only(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/tls"] == hashlib.sha256(data["tls.crt"]).hexdigest()
    # The recorded expiry, which decides renewal on upgrade, is the certificate's.
    not_after = datetime.datetime.fromisoformat(
        secret["metadata"]["annotations"]["modelward.io/tls-not-after"]
    )
    assert abs(not_after - leaf.not_valid_after_utc) < datetime.timedelta(minutes=5)
    assert abs(not_after - ca.not_valid_after_utc) < datetime.timedelta(minutes=5)
    expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3650)
    assert abs(not_after - expected) < datetime.timedelta(days=1)


def test_tls_validity_follows_values(helm: Helm) -> None:
    secret = only(helm.render({"tls": {"mode": "helm", "validityDays": 90}}), "Secret")
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=90)
    assert abs(leaf.not_valid_after_utc - expected) < datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("values", "namespace", "message"),
    [
        pytest.param(
            {"webhook": {"timeoutSeconds": 31}},
            NAMESPACE,
            "webhook.timeoutSeconds is 31; the API server accepts 1 to 30 seconds",
            id="timeout-above-30",
        ),
        pytest.param(
            {"podDisruptionBudget": {"minAvailable": 2}},
            NAMESPACE,
            "podDisruptionBudget.minAvailable (2) must be below replicaCount (2)",
            id="pdb-blocks-drains",
        ),
        pytest.param(
            {"serviceAccount": {"create": False}},
            NAMESPACE,
            "set serviceAccount.name",
            id="no-service-account",
        ),
        pytest.param(
            {},
            "default",
            'install modelward in its own namespace, not "default"',
            id="default-namespace",
        ),
    ],
)
def test_contradictions_fail(
    helm: Helm, values: dict[str, Any], namespace: str, message: str
) -> None:
    # --skip-schema-validation: validate.yaml must hold even when the schema is bypassed.
    with pytest.raises(HelmError, match=r"validate\.yaml") as failure:
        helm.render(values, "--skip-schema-validation", namespace=namespace)
    assert message in str(failure.value)


@pytest.mark.parametrize(
    ("values", "pointer"),
    [
        pytest.param({"replicas": 3}, "replicas", id="unknown-top-level-key"),
        pytest.param({"webhook": {"failurepolicy": "Ignore"}}, "failurepolicy", id="nested-typo"),
        pytest.param({"webhook": {"failurePolicy": "Ignored"}}, "failurePolicy", id="bad-enum"),
        pytest.param({"policy": {"noMatch": "maybe"}}, "noMatch", id="bad-no-match"),
        pytest.param({"webhook": {"timeoutSeconds": 31}}, "timeoutSeconds", id="timeout"),
        pytest.param({"image": {"digest": "latest"}}, "digest", id="bad-digest"),
        pytest.param(
            {"webhook": {"extraRules": [{"apiGroups": ["x"], "resources": ["y"]}]}},
            "apiVersions",
            id="extra-rule-without-versions",
        ),
        pytest.param({"limits": {"maxFiles": 0}}, "maxFiles", id="bad-limit"),
        pytest.param({"egress": {"allow": ["a b"]}}, "allow", id="bad-egress-allow"),
    ],
)
def test_values_schema_rejects(helm: Helm, values: dict[str, Any], pointer: str) -> None:
    with pytest.raises(HelmError, match="values don't meet the specifications") as failure:
        helm.render(values)
    assert pointer in str(failure.value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({}, "no policy governs are DENIED (policy.noMatch=deny)", id="deny"),
        pytest.param(
            {"policy": {"noMatch": "warn"}},
            "no policy governs are admitted (policy.noMatch=warn)",
            id="warn",
        ),
    ],
)
def test_notes_tell_the_next_step(
    helm4: Helm, tmp_path: pathlib.Path, values: dict[str, Any], expected: str
) -> None:
    # Only Helm 4 renders NOTES.txt without a cluster (Helm 3's client dry run dials one).
    out = helm4.run(
        "install", "modelward", str(CHART), "--namespace", NAMESPACE, "--dry-run=client",
        "--values", "-",
        stdin=json.dumps(values), home=tmp_path,
    )  # fmt: skip
    notes = out.split("\nNOTES:\n", 1)[1]
    assert expected in notes
    assert "kubectl -n modelward rollout status deployment/modelward" in notes
    # The policy the notes suggest is one the CRD accepts.
    policy = yaml.safe_load(notes.split("<<'POLICY'\n", 1)[1].split("  POLICY\n", 1)[0])
    assert policy["kind"] == "ClusterModelPolicy"
    assert crd_errors(policy) == []


def test_readme_policy_is_accepted() -> None:
    readme = (CHART / "README.md").read_text()
    section = readme.split("\n## Next step: a policy\n", 1)[1]
    policy = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    assert crd_errors(policy) == []


# ---- values.yaml, values.schema.json and README.md describe the same keys ----


def leaf_paths(values: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the values' leaves; maps that default to {} count as leaves."""
    paths = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths |= leaf_paths(value, f"{path}.")
        else:
            paths.add(path)
    return paths


def schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        paths.add(path)
        paths |= schema_paths(sub, f"{path}.")
    return paths


def documented_paths() -> set[str]:
    """Keys of values.yaml preceded by a helm-docs `# --` comment."""
    documented: set[str] = set()
    stack: list[tuple[int, str]] = []
    in_doc = False
    for line in (CHART / "values.yaml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            in_doc = True
        elif not stripped:
            in_doc = False
        elif not stripped.startswith(("#", "-")) and ":" in stripped:
            indent = len(line) - len(line.lstrip())
            stack = [(i, k) for i, k in stack if i < indent]
            stack.append((indent, stripped.split(":", 1)[0]))
            if in_doc:
                documented.add(".".join(k for _, k in stack))
            in_doc = False
    return documented


def covered(path: str, paths: set[str]) -> bool:
    """Whether the path, or a map it sits in, is among the paths."""
    parts = path.split(".")
    return any(".".join(parts[: i + 1]) in paths for i in range(len(parts)))


def prefixes(paths: set[str]) -> set[str]:
    """The paths and every map they sit in."""
    return {".".join(p.split(".")[: i + 1]) for p in paths for i in range(p.count(".") + 1)}


def values_paths() -> set[str]:
    return leaf_paths(yaml.safe_load((CHART / "values.yaml").read_text()))


def test_every_value_is_documented() -> None:
    documented = documented_paths()
    assert {path for path in values_paths() if not covered(path, documented)} == set()


def test_schema_covers_exactly_the_values() -> None:
    schema = schema_paths(json.loads((CHART / "values.schema.json").read_text()))
    assert {path for path in values_paths() if not covered(path, schema)} == set()
    assert schema - prefixes(values_paths()) == set()


def test_readme_lists_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    table = readme.split("\n## Values\n", 1)[1].split("\n## ", 1)[0]
    listed = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert documented_paths() <= listed
    assert {path for path in values_paths() if not covered(path, listed)} == set()
    assert listed - prefixes(values_paths()) == set()


def test_records_rbac_elects_through_one_lease_and_ci_never_writes_verdicts(helm: Helm) -> None:
    docs = rendered(helm, "default")
    leader = named(docs, "Role", "modelward-leader")
    assert leader["metadata"]["namespace"] == NAMESPACE
    assert {
        (verb, tuple(rule.get("resourceNames", ())))
        for rule in leader["rules"]
        for verb in rule["verbs"]
    } == {("create", ()), ("get", ("modelward-leader",)), ("patch", ("modelward-leader",))}
    requester = named(docs, "ClusterRole", "modelward-verification-requester")
    (rule,) = requester["rules"]
    assert rule["resources"] == ["modelverifications"]  # not modelverifications/status
    assert env(docs)["MODELWARD_RECORDS"] == "true"
    assert env(docs)["MODELWARD_AUDIT_INTERVAL_SECONDS"] == "600"


def test_records_off_renders_no_record_rbac(helm: Helm) -> None:
    docs = helm.render({"records": {"enabled": False}})
    assert not [d for d in docs if d["metadata"]["name"].endswith(("-leader", "-requester"))]
    role = named(docs, "ClusterRole", "modelward")
    assert not [r for r in role["rules"] if "modelverifications" in r["resources"]]
    assert env(docs)["MODELWARD_RECORDS"] == "false"
