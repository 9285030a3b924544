"""Cold verification of a large model pulled from a local registry, against the hashing floor.

Run: `.venv/bin/python bench/cold_verify.py [--size-mb 1024] [--files 1]`. Prints one table row
per tool, with the median of `--runs` runs. Needs Debian's docker-registry, openssl and curl.

The anchors: `openssl dgst -sha256` on the files on disk (one hash stream, no transfer: the
floor), and `curl` piped into `openssl dgst -sha256` on the same blobs pulled from the same
registry (a pull and one hash stream, overlapped by the pipe).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import _decide
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import signing as ms_signing

from modelward.adapters import demo
from modelward.oci import client as oci_client
from modelward.oci import media
from modelward.pipeline import admit

CHUNK = 64 * 1024 * 1024


def make_model(root: pathlib.Path, size_mb: int, files: int) -> None:
    root.mkdir(parents=True)
    per_file = size_mb * 1024 * 1024 // files
    for i in range(files):
        with (root / f"shard-{i:05d}.safetensors").open("wb") as out:
            left = per_file
            while left:
                n = min(CHUNK, left)
                out.write(os.urandom(n))
                left -= n


# The benchmark's registry listens on loopback, which modelward refuses by default.


async def push(host: str, repo: str, model: pathlib.Path, sig: pathlib.Path) -> None:
    settings = _decide.loopback_settings()
    async with admit.new_session(settings) as session:
        client = oci_client.RegistryClient(session, host, insecure=True)
        layers = []
        for path in [*sorted(model.iterdir()), sig]:
            data = path.read_bytes()
            digest = await client.push_blob(repo, data)
            title = media.IN_ARTIFACT_SIGNATURE if path == sig else path.name
            layers.append(
                {
                    "mediaType": "application/octet-stream",
                    "digest": digest,
                    "size": len(data),
                    "annotations": {media.TITLE: title},
                }
            )
            del data
        config = await client.push_blob(repo, b"{}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {"mediaType": media.OCI_EMPTY, "digest": config, "size": 2},
            "layers": layers,
        }
        await client.push_manifest(repo, "v1", json.dumps(manifest).encode(), media.OCI_MANIFEST)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed_pull(urls: list[str]) -> float:
    """Seconds for `curl URL... | openssl dgst -sha256`: every blob pulled and hashed once."""
    start = time.perf_counter()
    curl = subprocess.Popen(["curl", "-sSf", *urls], stdout=subprocess.PIPE)
    subprocess.run(
        ["openssl", "dgst", "-sha256"], stdin=curl.stdout, check=True, stdout=subprocess.DEVNULL
    )
    assert curl.stdout is not None
    curl.stdout.close()
    if curl.wait() != 0:
        raise SystemExit("curl failed to pull the blobs")
    return time.perf_counter() - start


def blob_urls(host: str, repo: str) -> list[str]:
    """The model's blob URLs (not the signature's), from the pushed manifest."""
    request = urllib.request.Request(
        f"http://{host}/v2/{repo}/manifests/v1", headers={"Accept": media.OCI_MANIFEST}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        manifest = json.load(response)
    return [
        f"http://{host}/v2/{repo}/blobs/{layer['digest']}"
        for layer in manifest["layers"]
        if layer["annotations"][media.TITLE] != media.IN_ARTIFACT_SIGNATURE
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="mw-bench-"))
    try:
        model = work / "model"
        make_model(model, args.size_mb, args.files)
        key = ec.generate_private_key(ec.SECP256R1())
        (work / "k.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pub = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (work / "k.pub").write_bytes(pub)
        sig = work / "model.sig"
        ms_signing.Config().use_elliptic_key_signer(private_key=work / "k.pem").sign(model, sig)
        files = sorted(str(p) for p in model.iterdir())
        rows: dict[str, list[float]] = {
            "openssl dgst -sha256": [],
            "curl piped to openssl dgst": [],
            "sha256sum": [],
            "model_signing verify (CLI)": [],
            "modelward pull+verify": [],
        }
        with demo._registry(work) as host:
            asyncio.run(push(host, "bench/model", model, sig))
            urls = blob_urls(host, "bench/model")
            for _ in range(args.runs):
                rows["openssl dgst -sha256"].append(timed(["openssl", "dgst", "-sha256", *files]))
                rows["curl piped to openssl dgst"].append(timed_pull(urls))
                rows["sha256sum"].append(timed(["sha256sum", *files]))
                rows["model_signing verify (CLI)"].append(
                    timed(
                        [
                            sys.executable,
                            "-m",
                            "model_signing",
                            "verify",
                            "key",
                            str(model),
                            "--signature",
                            str(sig),
                            "--public_key",
                            str(work / "k.pub"),
                        ]
                    )
                )
                rows["modelward pull+verify"].append(
                    asyncio.run(
                        _decide.cold_decision(
                            f"oci://{host}/bench/model:v1",
                            host,
                            pub.decode(),
                            work / "mw",
                            timeout=600,
                        )
                    )
                )
        floor = statistics.median(rows["openssl dgst -sha256"])
        print(
            f"{args.size_mb} MiB in {args.files} file(s), {os.cpu_count()} cores, median of {args.runs}"
        )
        print(f"{'tool':32} {'seconds':>8} {'x floor':>8} {'MiB/s':>8}")
        for name, values in rows.items():
            med = statistics.median(values)
            print(f"{name:32} {med:8.2f} {med / floor:8.2f} {args.size_mb / med:8.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
