"""Grouping sightings into one model per digest, with every use and the worst verdict."""

from __future__ import annotations

from modelward.bom import inventory

V = inventory.Verdict
DIGEST = "sha256:" + "a" * 64


def use(name: str, uri: str, namespace: str = "ml") -> inventory.Use:
    return inventory.Use(inventory.Workload("apps/Deployment", namespace, name), "spec.x", uri)


def facts(verdict: inventory.Verdict, digest: str | None = DIGEST, **kw: object) -> inventory.Facts:
    return inventory.Facts(digest=digest, pinned_uri=None, verdict=verdict, **kw)  # type: ignore[arg-type]


def test_one_model_per_digest_with_every_reference_and_use() -> None:
    a, b = use("a", "oci://r/m:v1"), use("b", f"oci://r/m@{DIGEST}")
    (model,) = inventory.group(
        [(a, facts(V.VERIFIED)), (b, facts(V.VERIFIED)), (a, facts(V.VERIFIED))]
    )
    assert model.key == DIGEST
    assert model.references == ("oci://r/m:v1", f"oci://r/m@{DIGEST}")
    assert model.uses == (a, b)


def test_unresolved_references_stay_apart() -> None:
    models = inventory.group(
        [
            (use("a", "oci://r/x:1"), facts(V.ERROR, None)),
            (use("b", "oci://r/y:1"), facts(V.ERROR, None)),
        ]
    )
    assert [m.key for m in models] == ["unresolved:oci://r/x:1", "unresolved:oci://r/y:1"]


def test_the_worst_verdict_wins_and_lists_are_merged() -> None:
    p1 = inventory.PolicyVerdict("ClusterModelPolicy/a", True, "Verified")
    p2 = inventory.PolicyVerdict("ModelPolicy/web/b", False, "SignerMismatch")
    (model,) = inventory.group(
        [
            (
                use("a", "u"),
                facts(V.VERIFIED, signers=("x",), policies=(p1,), files=(("f", "1" * 64),)),
            ),
            (
                use("b", "u", "web"),
                facts(V.FAILED, reason="SignerMismatch", signers=("x", "y"), policies=(p1, p2)),
            ),
        ]
    )
    assert model.facts.verdict is V.FAILED
    assert model.facts.reason == "SignerMismatch"
    assert model.facts.signers == ("x", "y")
    assert model.facts.policies == (p1, p2)
    assert model.facts.files == (("f", "1" * 64),)


def test_a_model_without_use_keeps_its_known_references() -> None:
    (model,) = inventory.group([(None, facts(V.VERIFIED, references=("oci://r/m:v1",)))])
    assert model.uses == ()
    assert model.references == ("oci://r/m:v1",)
