"""The admission pipeline against real object stores: SeaweedFS (s3://) and fake-gcs-server
(gs://). Each source x (signed, tampered, unsigned, wrong signer), prefix directories, pinned
versions and generations, credentials from Secrets and their namespace isolation."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import pathlib
import pickle
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import pytest

from modelward import errors, netrules
from modelward import settings as settings_
from modelward.pipeline import access, admit, decode
from modelward.policies import parse
from modelward.sources import base, gcs, s3
from modelward.structs import policy, refs
from tests.fixtures import models, signing
from tests.fixtures.gcs import BearerGate, FakeGcs
from tests.fixtures.s3 import SeaweedS3
from tests.fixtures.settings import make_settings
from tests.scanners import corpus

HOME = "modelward"


class Store(Protocol):
    scheme: str

    def bucket(self, *, versioned: bool = False) -> str: ...
    def put(self, bucket: str, key: str, data: bytes) -> str | None: ...
    def put_directory(self, bucket: str, prefix: str, directory: pathlib.Path) -> list[str]: ...
    def pinned(self, bucket: str, key: str, version: str) -> str: ...
    def sources(self) -> dict[str, Any]: ...


class S3Store:
    scheme = "s3"

    def __init__(self, server: SeaweedS3) -> None:
        self.server = server

    def bucket(self, *, versioned: bool = False) -> str:
        return self.server.new_bucket(versioned=versioned)

    def put(self, bucket: str, key: str, data: bytes) -> str | None:
        return self.server.put(bucket, key, data)

    def put_directory(self, bucket: str, prefix: str, directory: pathlib.Path) -> list[str]:
        return self.server.put_directory(bucket, prefix, directory)

    def pinned(self, bucket: str, key: str, version: str) -> str:
        return f"s3://{bucket}/{key}?versionId={version}"

    def sources(self) -> dict[str, Any]:
        return {
            "s3": {"endpoint": self.server.url, "region": "us-east-1"},
            "credentials": [{"scheme": "s3", "secretRef": {"name": "s3-reader"}}],
        }


class GcsStore:
    scheme = "gs"

    def __init__(self, server: FakeGcs) -> None:
        self.server = server

    def bucket(self, *, versioned: bool = False) -> str:
        return self.server.new_bucket(versioned=versioned)

    def put(self, bucket: str, key: str, data: bytes) -> str | None:
        return self.server.put(bucket, key, data)

    def put_directory(self, bucket: str, prefix: str, directory: pathlib.Path) -> list[str]:
        return self.server.put_directory(bucket, prefix, directory)

    def pinned(self, bucket: str, key: str, version: str) -> str:
        return f"gs://{bucket}/{key}#{version}"

    def sources(self) -> dict[str, Any]:
        return {
            "gcs": {"endpoint": self.server.url},
            "credentials": [{"scheme": "gs", "secretRef": {"name": "gcs-reader"}}],
        }


@pytest.fixture(params=["s3", "gs"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "s3":
        return S3Store(request.getfixturevalue("s3_server"))
    return GcsStore(request.getfixturevalue("gcs_server"))


def secrets_of(s3_server: SeaweedS3 | None, **extra: dict[str, str]) -> Callable[..., bytes]:
    """A Secret reader over {namespace/name: {key: value}}; the S3 keys are in `HOME`."""
    table: dict[str, dict[str, str]] = {f"{HOME}/gcs-reader": {"token": "gcs-token-7a1"}}
    if s3_server is not None:
        table[f"{HOME}/s3-reader"] = {
            "AWS_ACCESS_KEY_ID": s3_server.access_key,
            "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        }
    table.update(extra)

    def read(namespace: str, name: str, key: str) -> bytes:
        try:
            return table[f"{namespace}/{name}"][key].encode()
        except KeyError:
            raise errors.PolicyError(
                f"Secret {namespace}/{name} has no key {key!r}", reason="SecretNotFound"
            ) from None

    return read


def make_policy(
    key: signing.KeyPair,
    *,
    sources: dict[str, Any] | None = None,
    namespace: str | None = None,
    secrets: Callable[..., bytes] | None = None,
    name: str = "require-signed",
) -> policy.Policy:
    spec: dict[str, Any] = {
        "models": [{"glob": "**"}],
        "authorities": [{"name": "ml-release", "key": {"data": key.public_path.read_text()}}],
    }
    if sources is not None:
        spec["sources"] = sources
    metadata: dict[str, Any] = {"name": name, "uid": f"u-{name}", "generation": 1}
    if namespace:
        metadata["namespace"] = namespace
    obj = {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelPolicy" if namespace else "ClusterModelPolicy",
        "metadata": metadata,
        "spec": spec,
    }
    pol = parse.parse_policy(obj, secrets=secrets or secrets_of(None), home_namespace=HOME)
    assert pol.ready, pol.error_message
    return pol


def isvc(uri: str, namespace: str = "ml") -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "bert", "namespace": namespace},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": uri}}
        },
    }


Decide = Callable[..., Any]


@pytest.fixture
async def run(tmp_path: pathlib.Path) -> AsyncIterator[Decide]:
    settings = make_settings(work_dir=tmp_path / "work", namespace=HOME)
    async with admit.running(settings) as admitter:

        async def decide(uri: str, *policies: policy.Policy, namespace: str = "ml") -> Any:
            return await admitter.admit(decode.from_object(isvc(uri, namespace)), policies)

        yield decide
    work = tmp_path / "work"
    assert not (work.exists() and any(work.iterdir())), "work directories must be cleaned up"


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def grant(store: Store, request: pytest.FixtureRequest) -> Callable[[signing.KeyPair], Any]:
    """A ClusterModelPolicy for `key` that reaches the store with credentials."""
    s3 = request.getfixturevalue("s3_server") if store.scheme == "s3" else None

    def make(key: signing.KeyPair) -> policy.Policy:
        return make_policy(key, sources=store.sources(), secrets=secrets_of(s3))

    return make


def sign(model: pathlib.Path, key: signing.KeyPair, tmp_path: pathlib.Path, name: str) -> bytes:
    return signing.sign_with_key(model, key, tmp_path / "sigs" / name).read_bytes()


# --- Directories: signed, tampered, unsigned, wrong signer ---------------------------------


@pytest.mark.parametrize("case", ["signed", "tampered", "unsigned", "wrong-signer"])
async def test_prefix_directory(run, store, grant, key, tmp_path, bert_model, case) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    content = bert_model
    if case == "tampered":
        content = models.tampered_copy(bert_model, tmp_path / "t", "config.json")
    store.put_directory(bucket, "models/bert/", content)
    signer = signing.make_ec_key(tmp_path, "intruder") if case == "wrong-signer" else key
    if case != "unsigned":
        store.put(bucket, "models/bert/model.sig", sign(bert_model, signer, tmp_path, case))
    decision = await run(f"{store.scheme}://{bucket}/models/bert/", grant(key))
    expected = {
        "signed": "",
        "tampered": "DigestMismatch",
        "unsigned": "SignatureMissing",
        "wrong-signer": "UntrustedSigner",
    }[case]
    assert decision.allowed is (case == "signed"), decision.message
    assert decision.reason == expected
    if case == "tampered":
        assert "file 'config.json' digest differs from the signed manifest" in decision.message


async def test_prefix_without_trailing_slash_is_the_directory(
    run, store, grant, key, tmp_path, bert_model
) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    store.put_directory(bucket, "bert/", bert_model)
    store.put(bucket, "bert/model.sig", sign(bert_model, key, tmp_path, "b.sig"))
    # A sibling whose name extends the prefix must not join the model.
    store.put(bucket, "bert-old/extra.bin", b"not part of the model")
    decision = await run(f"{store.scheme}://{bucket}/bert", grant(key))
    assert decision.allowed, decision.message
    (ref,) = decision.refs
    files = {
        p.relative_to(bert_model).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in bert_model.rglob("*")
        if p.is_file()
    }
    lines = "".join(f"{p}\0{files[p]}\n" for p in sorted(files))
    assert ref.digest == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert ref.pinned_uri == f"{store.scheme}://{bucket}/bert/"


async def test_extra_object_under_the_prefix_is_denied(
    run, store, grant, key, tmp_path, bert_model
) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    store.put_directory(bucket, "m/", bert_model)
    store.put(bucket, "m/model.sig", sign(bert_model, key, tmp_path, "m.sig"))
    store.put(bucket, "m/sub/payload.pkl", b"\x80\x04N.")
    decision = await run(f"{store.scheme}://{bucket}/m/", grant(key))
    assert decision.reason == "DigestMismatch"
    assert "file 'sub/payload.pkl' is not covered by the signature" in decision.message


# --- Single objects and archives ----------------------------------------------------------


@pytest.mark.parametrize("case", ["signed", "tampered", "unsigned", "wrong-signer"])
async def test_single_object(run, store, grant, key, tmp_path, single_file_model, case) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    data = single_file_model.read_bytes()
    if case == "tampered":
        data = data[:-1] + bytes([data[-1] ^ 0xFF])
    store.put(bucket, "tiny.safetensors", data)
    signer = signing.make_ec_key(tmp_path, "intruder") if case == "wrong-signer" else key
    if case != "unsigned":
        store.put(bucket, "tiny.safetensors.sig", sign(single_file_model, signer, tmp_path, case))
    decision = await run(f"{store.scheme}://{bucket}/tiny.safetensors", grant(key))
    assert decision.allowed is (case == "signed"), decision.message
    assert (
        decision.reason
        == {
            "signed": "",
            "tampered": "DigestMismatch",
            "unsigned": "SignatureMissing",
            "wrong-signer": "UntrustedSigner",
        }[case]
    )
    assert decision.refs[0].digest == "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", ["bert.tar.gz", "bert.zip"])
async def test_archive_object(run, store, grant, key, tmp_path, bert_model, name) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    archive = tmp_path / name
    if name.endswith(".zip"):
        models.make_zip(bert_model, archive)
    else:
        models.make_tar(bert_model, archive, gzip=True)
    store.put(bucket, f"archives/{name}", archive.read_bytes())
    store.put(bucket, f"archives/{name}.sig", sign(bert_model, key, tmp_path, "a.sig"))
    decision = await run(f"{store.scheme}://{bucket}/archives/{name}", grant(key))
    assert decision.allowed, decision.message
    assert decision.refs[0].digest == "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()


# --- Versions and generations -------------------------------------------------------------


async def test_pinned_old_version_verifies_the_old_bytes(
    run, store, grant, key, tmp_path, single_file_model
) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket(versioned=True)
    good = single_file_model.read_bytes()
    old = store.put(bucket, "m.safetensors", good)
    new = store.put(bucket, "m.safetensors", good[:-1] + bytes([good[-1] ^ 0xFF]))
    assert old
    assert new
    assert old != new
    store.put(bucket, "m.safetensors.sig", sign(single_file_model, key, tmp_path, "m.sig"))
    pol = grant(key)
    latest = await run(f"{store.scheme}://{bucket}/m.safetensors", pol)
    assert latest.reason == "DigestMismatch"
    # The current version is resolved and named in the result.
    assert latest.refs[0].pinned_uri == store.pinned(bucket, "m.safetensors", new)
    pinned_uri = store.pinned(bucket, "m.safetensors", old)
    decision = await run(pinned_uri, pol)
    assert decision.allowed, decision.message
    assert decision.refs[0].pinned_uri == pinned_uri
    assert decision.refs[0].digest == "sha256:" + hashlib.sha256(good).hexdigest()


async def test_missing_object_is_not_found(run, store, grant, key) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    decision = await run(f"{store.scheme}://{bucket}/nothing/here.bin", grant(key))
    assert not decision.allowed
    assert decision.reason == "NotFound"
    assert "Check the bucket, the path and the version" in decision.message


# --- The SSRF guard covers the object stores ------------------------------------------------


async def test_loopback_store_is_refused_until_a_cluster_policy_allows_it(
    store, grant, key, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    uri = f"{store.scheme}://{bucket}/nothing/here.bin"
    settings = make_settings(
        work_dir=tmp_path / "work", namespace=HOME, egress_allow=netrules.Allowance()
    )
    granted = grant(key)
    allowing = dataclasses.replace(
        granted,
        sources=dataclasses.replace(
            granted.sources, allow=netrules.parse_allowance(["127.0.0.1/32"], what="t")
        ),
    )
    async with admit.running(settings) as admitter:
        refused = await admitter.admit(decode.from_object(isvc(uri)), [granted])
        reached = await admitter.admit(decode.from_object(isvc(uri)), [allowing])
    assert refused.reason == "EgressDenied", refused.message
    assert "127.0.0.1 is a loopback address" in refused.message
    # With the allowance the store is reached, and answers that the object is missing.
    assert reached.reason == "NotFound", reached.message


@pytest.mark.parametrize(("scheme", "field"), [("s3", "s3"), ("gs", "gcs")])
async def test_policy_endpoint_at_the_metadata_address_is_refused(
    run, key, scheme: str, field: str
) -> None:  # type: ignore[no-untyped-def]
    pointing = make_policy(
        key, sources={field: {"endpoint": "http://169.254.169.254"}}, namespace="ml"
    )
    decision = await run(f"{scheme}://models/m.bin", pointing)
    assert decision.reason == "EgressDenied", decision.message
    assert "169.254.169.254 is a link-local address" in decision.message


async def test_unknown_version_is_not_found(run, store, grant, key, single_file_model) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket(versioned=True)
    store.put(bucket, "m.bin", single_file_model.read_bytes())
    version = "12345" if store.scheme == "gs" else "0000000000000000deadbeef00000000"
    decision = await run(store.pinned(bucket, "m.bin", version), grant(key))
    assert not decision.allowed
    assert decision.reason in ("NotFound", "SourceError")


async def test_directory_over_the_file_limit_is_denied(
    store, grant, key, tmp_path, bert_model
) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    store.put_directory(bucket, "m/", bert_model)
    settings = make_settings(
        work_dir=tmp_path / "w", limits=dataclasses.replace(settings_.Limits(), max_files=2)
    )
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(
            decode.from_object(isvc(f"{store.scheme}://{bucket}/m/")), [grant(key)]
        )
    assert decision.reason == "ArtifactTooLarge"
    assert "more than 2 files" in decision.message


# --- S3 credentials and endpoints ---------------------------------------------------------


def s3_sources(server: SeaweedS3, secret: str | None = "s3-reader") -> dict[str, Any]:
    sources: dict[str, Any] = {"s3": {"endpoint": server.url, "forcePathStyle": True}}
    if secret:
        sources["credentials"] = [{"scheme": "s3", "secretRef": {"name": secret}}]
    return sources


async def signed_s3_model(
    server: SeaweedS3, model: pathlib.Path, key: signing.KeyPair, tmp_path: pathlib.Path
) -> str:
    bucket = server.new_bucket()
    server.put_directory(bucket, "bert/", model)
    server.put(bucket, "bert/model.sig", sign(model, key, tmp_path, "s.sig"))
    return f"s3://{bucket}/bert/"


async def test_s3_without_credentials_is_access_denied(
    run, s3_server, key, tmp_path, bert_model
) -> None:  # type: ignore[no-untyped-def]
    uri = await signed_s3_model(s3_server, bert_model, key, tmp_path)
    decision = await run(uri, make_policy(key, sources=s3_sources(s3_server, secret=None)))
    assert not decision.allowed
    assert decision.reason == "AccessDenied"
    assert "spec.sources.credentials (scheme s3)" in decision.message


async def test_s3_bad_credentials_are_denied_and_never_shown(
    run, s3_server, key, tmp_path, bert_model, caplog
) -> None:  # type: ignore[no-untyped-def]
    uri = await signed_s3_model(s3_server, bert_model, key, tmp_path)
    wrong_secret = "wrong-secret-value-d41d8cd9"
    secrets = secrets_of(
        None,
        **{
            f"{HOME}/s3-reader": {
                "AWS_ACCESS_KEY_ID": "AKIDLEAKCHECK0001",
                "AWS_SECRET_ACCESS_KEY": wrong_secret,
                "AWS_SESSION_TOKEN": "session-token-leak-check",
            }
        },
    )
    pol = make_policy(key, sources=s3_sources(s3_server), secrets=secrets)
    with caplog.at_level(logging.DEBUG):
        decision = await run(uri, pol)
    assert decision.reason == "AccessDenied"
    assert "HTTP 403" in decision.message
    for leaked in ("AKIDLEAKCHECK0001", wrong_secret, "session-token-leak-check"):
        assert leaked not in decision.message
        assert leaked not in caplog.text
        assert leaked not in repr(pol)
        assert all(leaked not in r.error[1] for r in decision.refs if r.error)


async def test_s3_endpoint_and_region_from_settings(tmp_path, s3_server, key, bert_model) -> None:  # type: ignore[no-untyped-def]
    uri = await signed_s3_model(s3_server, bert_model, key, tmp_path)
    only_credentials = {"credentials": [{"scheme": "s3", "secretRef": {"name": "s3-reader"}}]}
    pol = make_policy(key, sources=only_credentials, secrets=secrets_of(s3_server))
    settings = make_settings(
        work_dir=tmp_path / "w", s3_endpoint=s3_server.url, s3_region="us-east-1"
    )
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(decode.from_object(isvc(uri)), [pol])
    assert decision.allowed, decision.message


async def test_credentials_of_another_namespace_are_never_used(
    run, s3_server, key, tmp_path, bert_model
) -> None:  # type: ignore[no-untyped-def]
    """Team B's ModelPolicy names its Secret; a workload in A on the same bucket gets none."""
    uri = await signed_s3_model(s3_server, bert_model, key, tmp_path)
    creds = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
    }
    secrets = secrets_of(None, **{"team-b/bucket-keys": creds})
    team_b = make_policy(
        key,
        sources=s3_sources(s3_server, secret="bucket-keys"),
        namespace="team-b",
        secrets=secrets,
        name="team-b-models",
    )
    cluster = make_policy(key, sources=s3_sources(s3_server, secret=None), name="everyone")
    allowed = await run(uri, team_b, cluster, namespace="team-b")
    assert allowed.allowed, allowed.message
    denied = await run(uri, team_b, cluster, namespace="team-a")
    assert not denied.allowed
    assert denied.reason == "AccessDenied"
    # A verdict cached for team B's fetch must not open the door either.
    again = await run(uri, team_b, cluster, namespace="team-a")
    assert again.reason == "AccessDenied"


def test_model_policy_cannot_name_another_namespaces_secret(key, s3_server) -> None:  # type: ignore[no-untyped-def]
    sources = s3_sources(s3_server)
    sources["credentials"][0]["secretRef"]["namespace"] = "team-b"
    obj = {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelPolicy",
        "metadata": {"name": "steal", "namespace": "team-a"},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "k", "key": {"data": key.public_path.read_text()}}],
            "sources": sources,
        },
    }
    read: list[tuple[str, str, str]] = []

    def secrets(namespace: str, name: str, k: str) -> bytes:
        read.append((namespace, name, k))
        return b"x"

    pol = parse.parse_policy(obj, secrets=secrets, home_namespace=HOME)
    assert not pol.ready
    assert pol.error_reason == "SecretOutOfNamespace"
    assert read == []


# --- GCS bearer tokens --------------------------------------------------------------------


@pytest.mark.parametrize("token", ["gcs-token-7a1", "wrong-token-0c2", None])
async def test_gcs_token_from_the_secret(run, gcs_server, key, tmp_path, bert_model, token) -> None:  # type: ignore[no-untyped-def]
    bucket = gcs_server.new_bucket()
    gcs_server.put_directory(bucket, "bert/", bert_model)
    gcs_server.put(bucket, "bert/model.sig", sign(bert_model, key, tmp_path, "g.sig"))
    with BearerGate(gcs_server.url, "gcs-token-7a1") as gate:
        sources: dict[str, Any] = {"gcs": {"endpoint": gate.url}}
        if token:
            sources["credentials"] = [{"scheme": "gs", "secretRef": {"name": "gcs-reader"}}]
        secrets = secrets_of(None, **{f"{HOME}/gcs-reader": {"token": token or ""}})
        decision = await run(
            f"gs://{bucket}/bert", make_policy(key, sources=sources, secrets=secrets)
        )
    if token == "gcs-token-7a1":
        assert decision.allowed, decision.message
        assert gate.refused == []
        return
    assert decision.reason == "AccessDenied"
    assert "HTTP 401" in decision.message
    assert "spec.sources.credentials (scheme gs)" in decision.message
    assert "wrong-token-0c2" not in decision.message


# --- Pinned references are immutable ------------------------------------------------------


async def test_pinned_references_are_immutable(
    store, grant, key, tmp_path, single_file_model
) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket(versioned=True)
    version = store.put(bucket, "m.bin", single_file_model.read_bytes())
    assert version
    source = {"s3": s3.S3Source(), "gs": gcs.GcsSource()}[store.scheme]
    grants = access.PolicyAccess([grant(key)])
    pinned_uri = store.pinned(bucket, "m.bin", version)
    async with admit.new_session(make_settings()) as session:
        found = {}
        for uri in (f"{store.scheme}://{bucket}/m.bin", pinned_uri):
            workdir = tmp_path / f"w{len(found)}"
            ctx = base.FetchContext(
                session=session,
                settings=make_settings(work_dir=workdir),
                workdir=workdir,
                credentials=grants,
                endpoints=grants.endpoints(source.schemes),
            )
            artifact = await source.open(refs.ModelRef(uri, "spec.storageUri"), ctx)
            found[uri] = artifact.pinned
    latest, pinned = found.values()
    assert (latest.mutable, pinned.mutable) == (True, False)
    assert latest.pinned_uri == pinned.pinned_uri == pinned_uri
    assert latest.digest == pinned.digest


# --- Scanning reads what the object stores downloaded -------------------------------------


@pytest.mark.parametrize("layout", ["directory", "single-object"])
async def test_signed_but_malicious_bucket_model_is_scanned(
    run, store, grant, key, tmp_path, layout
) -> None:  # type: ignore[no-untyped-def]
    bucket = store.bucket()
    model = models.make_bert(tmp_path / "evil", "bert")
    (model / "model.pkl").write_bytes(pickle.dumps(corpus.Getuser(), protocol=4))
    if layout == "single-object":
        model = model / "model.pkl"
        store.put(bucket, "m/model.pkl", model.read_bytes())
        store.put(bucket, "m/model.pkl.sig", sign(model, key, tmp_path, "p.sig"))
        uri = f"{store.scheme}://{bucket}/m/model.pkl"
    else:
        store.put_directory(bucket, "m/", model)
        store.put(bucket, "m/model.sig", sign(model, key, tmp_path, "d.sig"))
        uri = f"{store.scheme}://{bucket}/m/"
    signed_only = grant(key)
    assert (await run(uri, signed_only)).allowed
    scanned = dataclasses.replace(
        signed_only,
        scan=parse.parse_policy(
            {
                "kind": "ClusterModelPolicy",
                "metadata": {"name": "s"},
                "spec": {
                    "models": [{"glob": "**"}],
                    "authorities": [{"name": "k", "key": {"data": key.public_path.read_text()}}],
                    "scan": {},
                },
            },
            secrets=secrets_of(None),
            home_namespace=HOME,
        ).scan,
    )
    decision = await run(uri, scanned)
    assert decision.reason == "ScanFinding"
    assert "pickle.unsafe-global" in decision.message
    assert "getpass.getuser" in decision.message
