"""`modelward demo`: sign sample models, serve them from a real local registry, show decisions.

No cluster is needed: the decisions come from the same pipeline the webhook runs. The models
are served by Debian's `docker-registry` when it is installed, else by an embedded HTTPS
server (files and detached signatures).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import ipaddress
import json
import pathlib
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp.web
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from model_signing import signing as ms_signing

from modelward import netrules
from modelward import settings as settings_
from modelward.adapters import cli
from modelward.oci import client as oci_client
from modelward.oci import media
from modelward.pipeline import admit, respond

CASES = (
    ("signed", "signed by the trusted key"),
    ("unsigned", "no signature"),
    ("tampered", "weights changed after signing"),
    ("wrong-signer", "signed by an untrusted key"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_model(root: pathlib.Path) -> None:
    root.mkdir(parents=True)
    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}
    ).encode()
    tensor = struct.pack("<16f", *[i / 16 for i in range(16)])
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + tensor)
    (root / "config.json").write_text(json.dumps({"architectures": ["DemoModel"], "hidden": 4}))


def _key(directory: pathlib.Path, name: str) -> tuple[pathlib.Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = directory / f"{name}.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public.decode()


def _sign(model: pathlib.Path, key: pathlib.Path, signature: pathlib.Path) -> None:
    config = ms_signing.Config()  # type: ignore[no-untyped-call]
    config.use_elliptic_key_signer(private_key=key).sign(model, signature)


@dataclasses.dataclass
class _Prepared:
    models: dict[str, pathlib.Path]
    signatures: dict[str, pathlib.Path]
    public_key: str


def _prepare(work: pathlib.Path) -> _Prepared:
    trusted, public = _key(work, "ml-release")
    intruder, _ = _key(work, "intruder")
    models, signatures = {}, {}
    for case, _ in CASES:
        model = work / "models" / case
        _write_model(model)
        sig = work / "signatures" / f"{case}.sig"
        sig.parent.mkdir(exist_ok=True)
        if case != "unsigned":
            _sign(model, intruder if case == "wrong-signer" else trusted, sig)
        if case == "tampered":
            with (model / "model.safetensors").open("r+b") as f:
                f.seek(-4, 2)
                f.write(b"\x00\x00\x80\x7f")
        models[case], signatures[case] = model, sig
    return _Prepared(models=models, signatures=signatures, public_key=public)


@contextlib.contextmanager
def _registry(work: pathlib.Path) -> Iterator[str]:
    port = _free_port()
    config = work / "registry.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "error"},
                "storage": {
                    "filesystem": {"rootdirectory": str(work / "registry")},
                    "delete": {"enabled": True},
                },
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    log = (work / "registry.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603  (a fixed local binary, our own config)
        [str(shutil.which("docker-registry")), "serve", str(config)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(
                        "the local registry did not start; see registry.log"
                    ) from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _files(model: pathlib.Path, sig: pathlib.Path) -> list[pathlib.Path]:
    files = sorted(p for p in model.rglob("*") if p.is_file())
    return [*files, sig] if sig.exists() else files


async def _push(
    client: oci_client.RegistryClient, repo: str, model: pathlib.Path, sig: pathlib.Path
) -> None:
    layers = []
    for path in _files(model, sig):
        data = path.read_bytes()
        title = media.IN_ARTIFACT_SIGNATURE if path == sig else path.relative_to(model).as_posix()
        kind = media.SIGSTORE_BUNDLE if path == sig else "application/octet-stream"
        digest = await client.push_blob(repo, data)
        layers.append(
            {
                "mediaType": kind,
                "digest": digest,
                "size": len(data),
                "annotations": {media.TITLE: title},
            }
        )
    config = await client.push_blob(repo, b"{}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "artifactType": "application/vnd.modelward.demo.model.v1",
        "config": {"mediaType": media.OCI_EMPTY, "digest": config, "size": 2},
        "layers": layers,
    }
    await client.push_manifest(repo, "v1", json.dumps(manifest).encode(), media.OCI_MANIFEST)


def _self_signed(work: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = work / "server.crt", work / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.asynccontextmanager
async def _https_server(
    work: pathlib.Path, prepared: _Prepared
) -> AsyncIterator[tuple[str, pathlib.Path]]:
    root = work / "www"
    root.mkdir()
    for case, model in prepared.models.items():
        archive = shutil.make_archive(str(root / case), "gztar", root_dir=model)
        if prepared.signatures[case].exists():
            shutil.copy(prepared.signatures[case], archive + ".sig")
    cert, key = _self_signed(work)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = aiohttp.web.Application()
    app.router.add_static("/", root)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", port, ssl_context=context)
    await site.start()
    try:
        yield f"https://localhost:{port}", cert
    finally:
        await runner.cleanup()


class _BlockDumper(yaml.SafeDumper):
    """Prints PEM keys as literal blocks, the way people write them in policies."""


_BlockDumper.add_representer(
    str,
    lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None),
)


def _deployment(case: str, uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": f"demo-{case}", "namespace": "ml"},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": uri}}
        },
    }


def _policy(glob: str, public_key: str) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "require-signed"},
        "spec": {
            "mode": "enforce",
            "models": [{"glob": glob}],
            "authorities": [{"name": "ml-release", "key": {"data": public_key}}],
        },
    }


async def _run(work: pathlib.Path) -> int:
    prepared = _prepare(work)
    # The demo's servers listen on loopback, which modelward refuses by default.
    settings = dataclasses.replace(
        settings_.Settings(),
        work_dir=work / "cache",
        egress_allow=netrules.parse_allowance(["127.0.0.0/8", "::1"], what="demo"),
    )
    async with contextlib.AsyncExitStack() as stack:
        if shutil.which("docker-registry"):
            host = stack.enter_context(_registry(work))
            print(f"models served by docker-registry at {host}")
            async with admit.new_session(settings) as session:
                client = oci_client.RegistryClient(session, host, insecure=True)
                for case, _ in CASES:
                    await _push(
                        client, f"models/{case}", prepared.models[case], prepared.signatures[case]
                    )
            settings = dataclasses.replace(settings, insecure_registries=frozenset({host}))
            glob, uris = (
                f"oci://{host}/models/**",
                {c: f"oci://{host}/models/{c}:v1" for c, _ in CASES},
            )
        else:
            base, ca = await stack.enter_async_context(_https_server(work, prepared))
            print(f"docker-registry is not installed; models served over HTTPS at {base}")
            settings = dataclasses.replace(settings, ca_bundle=ca)
            glob, uris = f"{base}/**", {c: f"{base}/{c}.tar.gz" for c, _ in CASES}
        policy = _policy(glob, prepared.public_key)
        print("\npolicy:\n" + yaml.dump(policy, Dumper=_BlockDumper, sort_keys=False))
        policies = cli.load_policies_from_objects([policy], settings.namespace)
        objects = [_deployment(case, uris[case]) for case, _ in CASES]
        started = time.monotonic()
        results = await cli.check(objects, policies, settings)
        elapsed = time.monotonic() - started
    expected = {"signed": True, "unsigned": False, "tampered": False, "wrong-signer": False}
    ok = True
    for (case, what), (ctx, decision) in zip(CASES, results, strict=True):
        print(f"--- {case}: {what}")
        print(respond.to_text(ctx, decision))
        ok = ok and decision.allowed == expected[case]
    print(
        f"\n{len(results)} decisions in {elapsed:.2f}s; "
        + ("all as expected" if ok else "UNEXPECTED")
    )
    return 0 if ok else 1


def main(*, keep: bool = False) -> int:
    """Run the demo in a temporary directory; returns 0 when every decision is the expected one."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="modelward-demo-"))
    try:
        return asyncio.run(_run(work))
    finally:
        if keep:
            print(f"demo files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
