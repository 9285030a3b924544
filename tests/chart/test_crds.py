"""The ClusterModelPolicy and ModelPolicy CRDs: shape, documentation, and what they accept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.chart.conftest import CRDS, crd, crd_errors, openapi, walk

PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
)
CA_CHAIN = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def example(kind: str) -> dict[str, Any]:
    """A policy using every field, as a user would write it, with a status the operator wrote."""
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "signed-models"},
        "spec": {
            "mode": "enforce",
            "match": {
                "namespaceSelector": {
                    "matchLabels": {"team": "ml"},
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}],
                },
                "objectSelector": {
                    "matchExpressions": [{"key": "modelward.io/skip", "operator": "DoesNotExist"}]
                },
                "kinds": ["Pod", "Deployment", "serving.kserve.io/InferenceService"],
            },
            "models": [
                {"glob": "oci://registry.example.com/models/**"},
                {"glob": "s3://ml-bucket/models/*/weights"},
            ],
            "authorities": [
                {"name": "ml-platform", "key": {"data": PUBLIC_KEY}},
                {
                    "name": "release-ca",
                    "certificate": {
                        "secretRef": {"name": "release-ca", "namespace": "ml", "key": "ca.crt"}
                    },
                },
                {"name": "ops", "key": {"secretRef": {"name": "ops-key", "key": "cosign.pub"}}},
                {"name": "vendor", "certificate": {"chain": CA_CHAIN}},
                {
                    "name": "ci",
                    "keyless": {
                        "issuer": "https://token.actions.example.com",
                        "subjectRegExp": "https://git.example.com/ml/.*",
                        "extensions": {"githubWorkflowRepository": "ml/bert"},
                        "trustRootRef": "private-sigstore",
                        "requireSignedTimestamp": True,
                    },
                },
            ],
            "onError": "warn",
            "require": {"count": 2},
            "attestations": [
                {
                    "name": "provenance",
                    "predicateType": "https://slsa.dev/provenance/v1",
                    "authorities": ["ci"],
                    "maxAge": "720h",
                    "timePath": "runDetails.metadata.finishedOn",
                    "conditions": [
                        {"path": "runDetails.builder.id", "equals": "https://ci.example.com/b"},
                        {
                            "path": "buildDefinition.externalParameters.ref",
                            "matches": "^refs/tags/",
                        },
                    ],
                },
                {
                    "name": "training-data",
                    "predicateType": "https://modelward.io/training-data/v1",
                    "inlineAuthorities": [{"name": "data-team", "key": {"data": PUBLIC_KEY}}],
                    "conditions": [
                        {"path": "datasets[*].digest.sha256", "in": ["aa", "bb"]},
                        {"path": "datasets[*].name", "inConfigMap": {"name": "ok", "key": "names"}},
                    ],
                },
            ],
            "sources": {
                "allow": ["10.0.0.0/8", "fd00::/8", "registry.internal"],
                "hf": {"endpoint": "https://hub.example.com"},
                "s3": {"endpoint": "https://minio.storage:9000", "region": "eu-west-1"},
                "gcs": {"endpoint": "https://gcs.internal"},
                "credentials": [
                    {"scheme": "s3", "secretRef": {"name": "bucket-reader"}},
                    {"scheme": "gs", "secretRef": {"name": "gcs-token"}},
                ],
            },
        },
        "status": {
            "observedGeneration": 3,
            "authorities": 4,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "AuthoritiesLoaded",
                    "message": "4 of 4 authorities loaded",
                    "lastTransitionTime": "2026-01-02T03:04:05Z",
                    "observedGeneration": 3,
                }
            ],
        },
    }


@pytest.mark.parametrize(
    ("kind", "plural", "short", "scope"),
    [
        ("ClusterModelPolicy", "clustermodelpolicies", "cmp", "Cluster"),
        ("ModelPolicy", "modelpolicies", "mp", "Namespaced"),
    ],
)
def test_names_and_scope(kind: str, plural: str, short: str, scope: str) -> None:
    definition = crd(kind)
    assert definition["apiVersion"] == "apiextensions.k8s.io/v1"
    assert definition["metadata"]["name"] == f"{plural}.modelward.io"
    spec = definition["spec"]
    assert spec["group"] == "modelward.io"
    assert spec["scope"] == scope
    assert spec["names"] == {
        "kind": kind,
        "listKind": f"{kind}List",
        "plural": plural,
        "singular": kind.lower(),
        "shortNames": [short],
        "categories": ["modelward"],
    }
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    ready = '.status.conditions[?(@.type=="Ready")]'
    assert [(c["name"], c["jsonPath"]) for c in version["additionalPrinterColumns"]] == [
        ("Mode", ".spec.mode"),
        ("Ready", f"{ready}.status"),
        ("Reason", f"{ready}.reason"),
        ("Violations", ".status.audit.totalViolations"),
        ("Age", ".metadata.creationTimestamp"),
    ]


def without_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: without_descriptions(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [without_descriptions(v) for v in schema]
    return schema


def test_both_kinds_share_one_schema() -> None:
    cluster, namespaced = openapi("ClusterModelPolicy"), openapi("ModelPolicy")
    assert without_descriptions(cluster) == without_descriptions(namespaced)
    cluster_docs = dict(walk(cluster))
    differing = {
        path
        for path, node in walk(namespaced)
        if node.get("description") != cluster_docs[path].get("description")
    }
    # Only where a namespaced policy behaves differently (and the kind's own name).
    assert differing == {
        "",
        ".kind",
        ".spec.match",
        ".spec.match.namespaceSelector",
        ".spec.authorities[].key.secretRef.namespace",
        ".spec.authorities[].certificate.secretRef.namespace",
        ".spec.scan.attestations.authorities[].key.secretRef.namespace",
        ".spec.scan.attestations.authorities[].certificate.secretRef.namespace",
        ".spec.knownBad.configMapRef.namespace",
        ".spec.attestations[].inlineAuthorities[].key.secretRef.namespace",
        ".spec.attestations[].inlineAuthorities[].certificate.secretRef.namespace",
        ".spec.sources.allow",
        ".spec.sources.credentials[].secretRef.namespace",
    }


@pytest.mark.parametrize("kind", CRDS)
def test_schema_is_structural_and_documented(kind: str) -> None:
    for path, node in walk(openapi(kind)):
        assert "type" in node, f"{path} has no type"
        assert "x-kubernetes-preserve-unknown-fields" not in node, path
        for branch in node.get("oneOf", []):
            # Structural schemas allow only value validations inside oneOf.
            assert set(branch) == {"required"}, path
            assert set(branch["required"]) <= set(node["properties"]), path
        for name, sub in node.get("properties", {}).items():
            # The API server forbids anything but a type on the root metadata (its schema is
            # ObjectMeta's), a description included.
            if f"{path}.{name}" != ".metadata":
                assert sub.get("description"), f"{path}.{name} has no description"
    assert openapi(kind)["properties"]["metadata"] == {"type": "object"}


@pytest.mark.parametrize("kind", CRDS)
def test_lists_and_cel_rules(kind: str) -> None:
    nodes = dict(walk(openapi(kind)))
    authorities = nodes[".spec.authorities"]
    assert authorities["x-kubernetes-list-type"] == "map"
    assert authorities["x-kubernetes-list-map-keys"] == ["name"]
    assert "name" in authorities["items"]["required"]
    conditions = nodes[".status.conditions"]
    assert (conditions["x-kubernetes-list-type"], conditions["x-kubernetes-list-map-keys"]) == (
        "map",
        ["type"],
    )
    rules = {
        path: [rule["rule"] for rule in node["x-kubernetes-validations"]]
        for path, node in nodes.items()
        if "x-kubernetes-validations" in node
    }
    expressions_rule = (
        "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0"
        " : !has(self.values) || size(self.values) == 0"
    )
    assert rules == {
        ".spec": [
            "!has(self.require) || self.require.count <= size(self.authorities)",
            "!self.authorities.exists(a, has(a.static)) || size(self.authorities) == 1",
        ],
        ".spec.match.namespaceSelector.matchExpressions[]": [expressions_rule],
        ".spec.match.objectSelector.matchExpressions[]": [expressions_rule],
        ".spec.authorities[]": [
            "(has(self.key) ? 1 : 0) + (has(self.certificate) ? 1 : 0)"
            " + (has(self.keyless) ? 1 : 0) + (has(self.static) ? 1 : 0) == 1"
        ],
        ".spec.authorities[].keyless": [
            "has(self.issuer) != has(self.issuerRegExp)",
            "has(self.subject) != has(self.subjectRegExp)",
        ],
        ".spec.authorities[].key": ["has(self.data) != has(self.secretRef)"],
        ".spec.authorities[].certificate": ["has(self.chain) != has(self.secretRef)"],
        ".spec.scan.attestations.authorities[]": ["has(self.key) != has(self.certificate)"],
        ".spec.scan.attestations.authorities[].key": ["has(self.data) != has(self.secretRef)"],
        ".spec.scan.attestations.authorities[].certificate": [
            "has(self.chain) != has(self.secretRef)"
        ],
        ".spec.attestations[].inlineAuthorities[]": ["has(self.key) != has(self.certificate)"],
        ".spec.attestations[].inlineAuthorities[].key": ["has(self.data) != has(self.secretRef)"],
        ".spec.attestations[].inlineAuthorities[].certificate": [
            "has(self.chain) != has(self.secretRef)"
        ],
    }
    for node in nodes.values():
        for rule in node.get("x-kubernetes-validations", []):
            assert rule["message"]


@pytest.mark.parametrize("kind", CRDS)
def test_defaults(kind: str) -> None:
    nodes = dict(walk(openapi(kind)))
    assert nodes[".spec.mode"]["default"] == "enforce"
    assert nodes[".spec.mode"]["enum"] == ["enforce", "warn", "audit"]
    assert nodes[".spec.onError"]["default"] == "deny"
    assert nodes[".spec.onError"]["enum"] == ["deny", "warn", "allow"]
    # require defaults to {} so that count's default of 1 applies when require is omitted.
    assert nodes[".spec.require"]["default"] == {}
    assert nodes[".spec.require.count"]["default"] == 1


@pytest.mark.parametrize("kind", CRDS)
def test_example_policy_is_accepted(kind: str) -> None:
    assert crd_errors(example(kind)) == []
    minimal = example(kind)
    minimal["spec"] = {
        "models": [{"glob": "oci://registry.example.com/models/**"}],
        "authorities": [{"name": "ml-platform", "key": {"data": PUBLIC_KEY}}],
    }
    del minimal["status"]
    assert crd_errors(minimal) == []
    minimal["spec"]["authorities"] = [{"name": "local", "static": {"action": "pass"}}]
    assert crd_errors(minimal) == []


def spec_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda policy: edit(policy["spec"])


def set_first_authority(value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return spec_edit(lambda spec: spec["authorities"].__setitem__(0, value))


def set_attestation(value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return spec_edit(lambda spec: spec["attestations"].__setitem__(0, value))


SLSA = "https://slsa.dev/provenance/v1"
BAD_POLICIES = [
    pytest.param(
        set_attestation({"name": "p"}), ["spec", "attestations", 0], id="attestation-no-type"
    ),
    pytest.param(
        set_attestation(
            {
                "name": "p",
                "predicateType": SLSA,
                "conditions": [{"path": "a", "equals": "x", "in": ["x"]}],
            }
        ),
        ["spec", "attestations", 0, "conditions", 0],
        id="condition-two-tests",
    ),
    pytest.param(
        set_attestation({"name": "p", "predicateType": SLSA, "conditions": [{"path": "a"}]}),
        ["spec", "attestations", 0, "conditions", 0],
        id="condition-no-test",
    ),
    pytest.param(
        set_attestation(
            {
                "name": "p",
                "predicateType": SLSA,
                "conditions": [{"path": "a", "matches": "x" * 257}],
            }
        ),
        ["spec", "attestations", 0, "conditions", 0, "matches"],
        id="regex-too-long",
    ),
    pytest.param(
        set_attestation({"name": "p", "predicateType": SLSA, "maxAge": "1 week"}),
        ["spec", "attestations", 0, "maxAge"],
        id="attestation-bad-max-age",
    ),
    pytest.param(
        set_attestation(
            {"name": "p", "predicateType": SLSA, "inlineAuthorities": [{"name": "x", "static": {}}]}
        ),
        ["spec", "attestations", 0, "inlineAuthorities", 0],
        id="inline-authority-static",
    ),
    pytest.param(lambda p: p.pop("spec"), [], id="no-spec"),
    pytest.param(spec_edit(lambda s: s.pop("models")), ["spec"], id="no-models"),
    pytest.param(spec_edit(lambda s: s.update(models=[])), ["spec", "models"], id="empty-models"),
    pytest.param(
        spec_edit(lambda s: s.update(models=[{"glob": ""}])),
        ["spec", "models", 0, "glob"],
        id="empty-glob",
    ),
    pytest.param(spec_edit(lambda s: s.pop("authorities")), ["spec"], id="no-authorities"),
    pytest.param(
        set_first_authority(
            {"name": "a", "key": {"data": PUBLIC_KEY, "secretRef": {"name": "s", "key": "k"}}}
        ),
        ["spec", "authorities", 0, "key"],
        id="key-data-and-secret",
    ),
    pytest.param(
        set_first_authority({"name": "a", "key": {}}),
        ["spec", "authorities", 0, "key"],
        id="key-empty",
    ),
    pytest.param(
        set_first_authority(
            {"name": "a", "key": {"data": PUBLIC_KEY}, "certificate": {"chain": CA_CHAIN}}
        ),
        ["spec", "authorities", 0],
        id="key-and-certificate",
    ),
    pytest.param(
        set_first_authority({"name": "a"}), ["spec", "authorities", 0], id="no-key-or-certificate"
    ),
    pytest.param(
        set_first_authority(
            {
                "name": "a",
                "certificate": {"chain": CA_CHAIN, "secretRef": {"name": "s", "key": "k"}},
            }
        ),
        ["spec", "authorities", 0, "certificate"],
        id="certificate-chain-and-secret",
    ),
    pytest.param(
        set_first_authority({"name": "a", "key": {"secretRef": {"name": "s"}}}),
        ["spec", "authorities", 0, "key", "secretRef"],
        id="secret-ref-without-key",
    ),
    pytest.param(
        set_first_authority({"name": "ML_Platform", "key": {"data": PUBLIC_KEY}}),
        ["spec", "authorities", 0, "name"],
        id="bad-authority-name",
    ),
    pytest.param(
        set_first_authority({"name": "a", "static": {"action": "maybe"}}),
        ["spec", "authorities", 0, "static", "action"],
        id="bad-static-action",
    ),
    pytest.param(
        set_first_authority({"name": "a", "static": {"action": "pass"}, "key": {"data": "x"}}),
        ["spec", "authorities", 0],
        id="static-and-key",
    ),
    pytest.param(spec_edit(lambda s: s.update(mode="block")), ["spec", "mode"], id="bad-mode"),
    pytest.param(
        spec_edit(lambda s: s.update(onError="ignore")), ["spec", "onError"], id="bad-on-error"
    ),
    pytest.param(
        set_first_authority(
            {"name": "a", "key": {"data": PUBLIC_KEY}, "keyless": {"issuer": "i", "subject": "s"}}
        ),
        ["spec", "authorities", 0],
        id="key-and-keyless",
    ),
    pytest.param(
        set_first_authority(
            {"name": "a", "keyless": {"issuer": "i", "subject": "s", "extensions": {"x": ""}}}
        ),
        ["spec", "authorities", 0, "keyless", "extensions", "x"],
        id="empty-claim",
    ),
    pytest.param(spec_edit(lambda s: s.update(mdoe="warn")), ["spec"], id="unknown-field"),
    pytest.param(
        spec_edit(lambda s: s.update(require={"count": 0})),
        ["spec", "require", "count"],
        id="count-zero",
    ),
    pytest.param(
        spec_edit(lambda s: s["match"].update(kinds=["pods"])),
        ["spec", "match", "kinds", 0],
        id="kind-not-a-kind",
    ),
    pytest.param(
        spec_edit(
            lambda s: s["match"]["objectSelector"].update(
                matchExpressions=[{"key": "a", "operator": "Equals", "values": ["b"]}]
            )
        ),
        ["spec", "match", "objectSelector", "matchExpressions", 0, "operator"],
        id="bad-selector-operator",
    ),
    pytest.param(
        spec_edit(lambda s: s["sources"].update(allow=["a b"])),
        ["spec", "sources", "allow", 0],
        id="bad-egress-allowance",
    ),
    pytest.param(
        spec_edit(lambda s: s["sources"]["hf"].update(endpoint="ftp://hub")),
        ["spec", "sources", "hf", "endpoint"],
        id="bad-hub-endpoint",
    ),
    pytest.param(
        lambda p: p["status"]["conditions"][0].update(status="Yes"),
        ["status", "conditions", 0, "status"],
        id="bad-condition-status",
    ),
    pytest.param(
        spec_edit(lambda s: s["sources"]["credentials"][0].update(scheme="ftp")),
        ["spec", "sources", "credentials", 0, "scheme"],
        id="credentials-unknown-scheme",
    ),
    pytest.param(
        spec_edit(lambda s: s["sources"]["s3"].update(endpoint="https://user@host/path?q")),
        ["spec", "sources", "s3", "endpoint"],
        id="endpoint-not-a-host-url",
    ),
]


@pytest.mark.parametrize("kind", CRDS)
@pytest.mark.parametrize(("edit", "where"), BAD_POLICIES)
def test_bad_policy_is_rejected(
    kind: str, edit: Callable[[dict[str, Any]], None], where: list[Any]
) -> None:
    policy = example(kind)
    edit(policy)
    found = crd_errors(policy)
    assert found, "accepted"
    assert where in [list(error.absolute_path) for error in found], [
        (list(error.absolute_path), error.message) for error in found
    ]
