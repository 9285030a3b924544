"""Required in-toto attestations end to end: a signed model in a real registry, attestations
attached to it as OCI referrers, decided by the admission pipeline (on the digest-bound fast
path too, where the model is never downloaded)."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import pytest

from modelward.pipeline import admit, decode, respond
from modelward.policies import parse
from modelward.structs import evidence, policy
from tests.fixtures import ocipush, signing
from tests.fixtures.referrers import ReferrersProxy
from tests.fixtures.registry import Registry
from tests.fixtures.settings import make_settings

SLSA = "https://slsa.dev/provenance/v1"
DATA = "https://modelward.io/training-data/v1"
BUILDER = "https://git.test/ml/bert/.github/workflows/train.yml@refs/heads/main"
APPROVED = ["a1" * 32, "b2" * 32]


def provenance(
    builder: str = BUILDER, ref: str = "refs/tags/v1.4", age: datetime.timedelta | None = None
) -> dict[str, Any]:
    finished = datetime.datetime.now(datetime.UTC) - (age or datetime.timedelta())
    return {
        "buildDefinition": {
            "buildType": "https://ci.test/workflow/v1",
            "externalParameters": {"workflow": {"ref": ref, "repository": "ml/bert"}},
        },
        "runDetails": {
            "builder": {"id": builder},
            "metadata": {"finishedOn": finished.isoformat().replace("+00:00", "Z")},
        },
    }


def training_data(*digests: str) -> dict[str, Any]:
    return {"datasets": [{"name": f"d{i}", "digest": {"sha256": d}} for i, d in enumerate(digests)]}


PROVENANCE = {
    "name": "provenance",
    "predicateType": SLSA,
    "authorities": ["ci"],
    "maxAge": "720h",
    "conditions": [
        {"path": "runDetails.builder.id", "equals": BUILDER},
        {"path": "buildDefinition.externalParameters.workflow.ref", "matches": "^refs/tags/v"},
    ],
}
TRAINING_DATA = {
    "name": "training-data",
    "predicateType": DATA,
    "conditions": [{"path": "datasets[*].digest.sha256", "in": APPROVED}],
}
IN_CONFIGMAP = {
    "name": "training-data",
    "predicateType": DATA,
    "conditions": [
        {"path": "datasets[*].digest.sha256", "inConfigMap": {"name": "datasets", "key": "ok"}}
    ],
}


@pytest.fixture
def keys(tmp_path: pathlib.Path) -> dict[str, signing.KeyPair]:
    return {n: signing.make_ec_key(tmp_path / "keys", n) for n in ("ml", "ci", "rogue")}


def make_policy(keys: dict[str, signing.KeyPair], *required: dict[str, Any]) -> policy.Policy:
    obj = {
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "attested", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [
                {"name": n, "key": {"data": keys[n].public_path.read_text()}} for n in ("ml", "ci")
            ],
            "require": {"count": 1},
            "attestations": list(required),
        },
    }

    def configmaps(namespace: str, name: str, key: str) -> bytes:
        assert (namespace, name, key) == ("modelward", "datasets", "ok")
        return ("# approved training sets\n" + "\n".join(APPROVED) + "\n").encode()

    pol = parse.parse_policy(
        obj, secrets=lambda *a: b"", home_namespace="modelward", configmaps=configmaps
    )
    assert pol.ready, pol.error_message
    return pol


def isvc(uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "m", "namespace": "ml"},
        "spec": {"predictor": {"model": {"storageUri": uri}}},
    }


@pytest.fixture
def run(tmp_path: pathlib.Path) -> Any:
    async def decide(host: str, uri: str, pol: policy.Policy) -> evidence.Decision:
        settings = make_settings(work_dir=tmp_path / "work", insecure_registries=frozenset({host}))
        async with admit.running(settings) as admitter:
            return await admitter.admit(decode.from_object(isvc(uri)), [pol])

    return decide


def publish(
    registry: Registry,
    model: pathlib.Path,
    keys: dict[str, signing.KeyPair],
    tmp: pathlib.Path,
    attestations: list[tuple[str, dict[str, Any], str]],
    *,
    other_digest: bool = False,
    update_index: bool = True,
) -> tuple[str, ocipush.Pushed]:
    """Push the model signed by `ml`, then each (predicate type, predicate, signer) as a
    referrer; `other_digest` binds the attestations to some other model."""
    sig = signing.sign_with_key(model, keys["ml"], tmp / "model.sig")
    repo = ocipush.unique_repo("attested")
    pushed = ocipush.push_model(registry, repo, model, signature=sig)
    for i, (kind, predicate, signer) in enumerate(attestations):
        digest = "sha256:" + "0" * 64 if other_digest else pushed.digest
        stmt = signing.in_toto_statement(kind, predicate, digest=digest, name=repo)
        bundle = signing.sign_statement(stmt, keys[signer], tmp / f"att-{i}.sigstore.json")
        ocipush.attach_referrer(
            registry, repo, pushed.descriptor, bundle, update_index=update_index
        )
    return repo, pushed


CASES: dict[str, tuple[list[tuple[str, dict[str, Any], str]], list[dict[str, Any]], str, str]] = {
    # case: (attached, required, reason, message part); reason "" means admitted.
    "right-builder": ([(SLSA, provenance(), "ci")], [PROVENANCE], "", ""),
    "wrong-builder": (
        [(SLSA, provenance("https://git.test/evil/x.yml@refs/heads/main"), "ci")],
        [PROVENANCE],
        "AttestationConditionFailed",
        f"attestation 'provenance' ({SLSA}): runDetails.builder.id is "
        f'"https://git.test/evil/x.yml@refs/heads/main", expected "{BUILDER}"',
    ),
    "regex": (
        [(SLSA, provenance(ref="refs/heads/dev"), "ci")],
        [PROVENANCE],
        "AttestationConditionFailed",
        'workflow.ref is "refs/heads/dev", which does not match /^refs/tags/v/',
    ),
    "missing": ([], [PROVENANCE], "AttestationMissing", "as an OCI referrer"),
    "authority-not-listed": (
        # `ml` is one of the policy's authorities, but not one this attestation accepts.
        [(SLSA, provenance(), "ml")],
        [PROVENANCE],
        "AttestationUntrusted",
        "none is signed by ci",
    ),
    "unknown-signer": (
        [(SLSA, provenance(), "rogue")],
        [PROVENANCE],
        "AttestationUntrusted",
        "none is signed by ci",
    ),
    "expired": (
        [(SLSA, provenance(age=datetime.timedelta(days=31)), "ci")],
        [PROVENANCE],
        "AttestationTooOld",
        "older than maxAge 30 days",
    ),
    "datasets-approved": (
        [(SLSA, provenance(), "ci"), (DATA, training_data(*APPROVED), "ci")],
        [PROVENANCE, TRAINING_DATA],
        "",
        "",
    ),
    "dataset-not-approved": (
        [(DATA, training_data(APPROVED[0], "c3" * 32), "ml")],
        [TRAINING_DATA],
        "AttestationConditionFailed",
        f'datasets[1].digest.sha256 is "{"c3" * 32}", not in the allowlist',
    ),
    "configmap-approved": ([(DATA, training_data(APPROVED[1]), "ci")], [IN_CONFIGMAP], "", ""),
    "configmap-not-approved": (
        [(DATA, training_data("c3" * 32), "ci")],
        [IN_CONFIGMAP],
        "AttestationConditionFailed",
        "not in the allowlist in ConfigMap modelward/datasets key ok",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_attestation_conditions(  # type: ignore[no-untyped-def]
    run, registry, tmp_path, bert_model, keys, case
) -> None:
    attached, required, reason, message = CASES[case]
    repo, _ = publish(registry, bert_model, keys, tmp_path, attached)
    uri = f"oci://{registry.host}/{repo}:v1"
    decision = await run(registry.host, uri, make_policy(keys, *required))
    result = decision.refs[0].results[0]
    if not reason:
        assert decision.allowed, decision.message
        types = [r["predicateType"] for r in required]
        assert result.attestations == tuple(types)
        (reported,) = respond.to_json(decode.from_object(isvc(uri)), decision)["references"]
        assert reported["policies"][0]["attestations"] == types
        return
    assert not decision.allowed
    assert result.reason == reason
    assert message in decision.message
    assert result.attestations == ()


async def test_attestation_for_another_digest(  # type: ignore[no-untyped-def]
    run, registry, tmp_path, bert_model, keys
) -> None:
    repo, _ = publish(
        registry, bert_model, keys, tmp_path, [(SLSA, provenance(), "ci")], other_digest=True
    )
    decision = await run(
        registry.host, f"oci://{registry.host}/{repo}:v1", make_policy(keys, PROVENANCE)
    )
    assert not decision.allowed
    assert decision.refs[0].results[0].reason == "AttestationDigestMismatch"
    assert "is about another model" in decision.message


async def test_fast_path_checks_attestations_without_a_download(  # type: ignore[no-untyped-def]
    run, registry, tmp_path, bert_model, keys
) -> None:
    _, pushed = publish(registry, bert_model, keys, tmp_path / "good", [(SLSA, provenance(), "ci")])
    decision = await run(registry.host, f"oci://{pushed.by_digest}", make_policy(keys, PROVENANCE))
    assert decision.allowed, decision.message
    assert decision.refs[0].fast_path
    assert decision.refs[0].results[0].attestations == (SLSA,)
    _, pushed = publish(
        registry, bert_model, keys, tmp_path / "bad", [(SLSA, provenance("https://x.test/b"), "ci")]
    )
    decision = await run(registry.host, f"oci://{pushed.by_digest}", make_policy(keys, PROVENANCE))
    assert decision.refs[0].fast_path
    assert decision.refs[0].results[0].reason == "AttestationConditionFailed"


async def test_attestation_found_through_the_referrers_api(  # type: ignore[no-untyped-def]
    run, registry, referrers_proxy: ReferrersProxy, tmp_path, bert_model, keys
) -> None:
    via = referrers_proxy.as_registry(registry)
    repo, _ = publish(
        via, bert_model, keys, tmp_path, [(SLSA, provenance(), "ci")], update_index=False
    )
    decision = await run(via.host, f"oci://{via.host}/{repo}:v1", make_policy(keys, PROVENANCE))
    assert decision.allowed, decision.message
    assert decision.refs[0].results[0].attestations == (SLSA,)
    assert referrers_proxy.paths("GET", f"/v2/{repo}/referrers/")
