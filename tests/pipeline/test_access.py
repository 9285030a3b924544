"""Which governing policy supplies the endpoint and credentials of a reference."""

from __future__ import annotations

from modelward.pipeline import access as access_
from modelward.structs import access, policy


def pol(
    name: str,
    *,
    namespace: str | None = None,
    endpoint: str | None = None,
    secret: str | None = None,
    broken: bool = False,
) -> policy.Policy:
    key = policy.PolicyKey(
        kind="ModelPolicy" if namespace else "ClusterModelPolicy",
        namespace=namespace,
        name=name,
        uid=name,
        generation=1,
    )
    endpoints = (("s3", access.Endpoint(url=endpoint)),) if endpoint else ()
    credentials = (
        (access.SecretValues("s3", f"Secret {secret}", (("AWS_ACCESS_KEY_ID", secret),)),)
        if secret
        else ()
    )
    return policy.Policy(
        key=key,
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=("**",),
        authorities=(),
        sources=access.SourceAccess(endpoints=endpoints, credentials=credentials),
        error_reason="InvalidKey" if broken else "",
    )


async def test_no_policy_grants_anything() -> None:
    grants = access_.PolicyAccess([pol("plain")])
    assert await grants.lookup("s3", "bucket") is None
    assert grants.endpoints(("s3",)) == {}


async def test_the_workloads_own_model_policy_comes_first() -> None:
    grants = access_.PolicyAccess(
        [pol("a-cluster", secret="cluster-key"), pol("z-team", namespace="ml", secret="team-key")]
    )
    creds = await grants.lookup("s3", "bucket")
    assert creds is not None
    assert creds.origin == "Secret team-key"


async def test_endpoint_and_credentials_come_from_one_policy() -> None:
    # The team's policy sets an endpoint only: the cluster's keys must not go there.
    grants = access_.PolicyAccess(
        [
            pol("cluster", endpoint="https://s3.corp", secret="cluster-key"),
            pol("team", namespace="ml", endpoint="https://attacker.example"),
        ]
    )
    assert await grants.lookup("s3", "bucket") is None
    assert grants.endpoints(("s3",)) == {"s3": access.Endpoint(url="https://attacker.example")}


async def test_cluster_policies_by_name_and_broken_ones_ignored() -> None:
    grants = access_.PolicyAccess(
        [pol("b", secret="b-key"), pol("a", secret="a-key", broken=True), pol("c", secret="c")]
    )
    creds = await grants.lookup("s3", "bucket")
    assert creds is not None
    assert creds.origin == "Secret b-key"
    assert await grants.lookup("gs", "bucket") is None
