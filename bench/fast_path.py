"""Admission time of the digest-bound fast path for a 1 GB and a 20 GB model.

Run: `.venv/bin/python bench/fast_path.py [--sizes-gb 1 20] [--runs 5] [--download]`.
The models are sparse files of zeros: each is hashed once (by model_signing, to sign it),
and its blobs are placed in the local registry's storage as sparse files, so a 20 GB model
costs no disk and no upload. Each run is a cold decision (a fresh pipeline, no cache) on the
model referenced by digest; `--download` also times the tag path, which reads every byte.
Prints one row per size with the median seconds and the number of bytes admission read.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import pathlib
import shutil
import statistics
import tempfile

import _decide
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import signing as ms_signing

from modelward.adapters import demo
from modelward.oci import client as oci_client
from modelward.oci import media
from modelward.pipeline import admit

SHARD_BYTES = 5 * 1024**3
REPO_ROOT = "docker/registry/v2"


def make_model(root: pathlib.Path, size: int) -> None:
    """Sparse shards of zeros, each a little different in length so their digests differ."""
    root.mkdir(parents=True)
    i = 0
    while size > 0:
        n = min(SHARD_BYTES, size)
        with (root / f"shard-{i:03d}.safetensors").open("wb") as out:
            out.truncate(n - i)
        size -= n
        i += 1


def signed_digests(sig: pathlib.Path) -> dict[str, str]:
    """Path -> sha256 hex, read from the bundle model_signing wrote."""
    bundle = json.loads(sig.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return {r["name"]: r["digest"] for r in statement["predicate"]["resources"]}


def place_blob(registry_root: pathlib.Path, repo: str, digest_hex: str, size: int) -> None:
    """Put a sparse blob of zeros straight into the registry's filesystem storage."""
    blob = registry_root / REPO_ROOT / "blobs/sha256" / digest_hex[:2] / digest_hex / "data"
    blob.parent.mkdir(parents=True, exist_ok=True)
    with blob.open("wb") as out:
        out.truncate(size)
    link = registry_root / REPO_ROOT / "repositories" / repo / "_layers/sha256" / digest_hex
    link.mkdir(parents=True, exist_ok=True)
    (link / "link").write_text(f"sha256:{digest_hex}")


# The benchmark's registry listens on loopback, which modelward refuses by default.


async def push(
    host: str, registry_root: pathlib.Path, repo: str, model: pathlib.Path, sig: pathlib.Path
) -> str:
    digests = signed_digests(sig)
    settings = _decide.loopback_settings()
    async with admit.new_session(settings) as session:
        client = oci_client.RegistryClient(session, host, insecure=True)
        layers = []
        for path in sorted(model.iterdir()):
            size = path.stat().st_size
            place_blob(registry_root, repo, digests[path.name], size)
            layers.append(
                {
                    "mediaType": "application/octet-stream",
                    "digest": f"sha256:{digests[path.name]}",
                    "size": size,
                    "annotations": {media.TITLE: path.name},
                }
            )
        data = sig.read_bytes()
        layers.append(
            {
                "mediaType": "application/octet-stream",
                "digest": await client.push_blob(repo, data),
                "size": len(data),
                "annotations": {media.TITLE: media.IN_ARTIFACT_SIGNATURE},
            }
        )
        config = await client.push_blob(repo, b"{}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {"mediaType": media.OCI_EMPTY, "digest": config, "size": 2},
            "layers": layers,
        }
        body = json.dumps(manifest).encode()
        return await client.push_manifest(repo, "v1", body, media.OCI_MANIFEST)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-gb", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--download", action="store_true", help="also time the tag path")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="mw-fast-"))
    try:
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
        with demo._registry(work) as host:
            print(f"{os.cpu_count()} cores, median of {args.runs} cold decisions")
            print(f"{'model':>8} {'path':>22} {'seconds':>8}")
            for gb in args.sizes_gb:
                model = work / f"model-{gb}"
                make_model(model, gb * 1024**3)
                sig = work / f"model-{gb}.sig"
                ms_signing.Config().use_elliptic_key_signer(private_key=work / "k.pem").sign(
                    model, sig
                )
                repo = f"bench/model-{gb}"
                digest = asyncio.run(push(host, work / "registry", repo, model, sig))
                paths = {"by digest (fast path)": f"oci://{host}/{repo}@{digest}"}
                if args.download:
                    paths["by tag (download)"] = f"oci://{host}/{repo}:v1"
                for name, uri in paths.items():
                    runs = [
                        asyncio.run(
                            _decide.cold_decision(
                                uri, host, pub.decode(), work / "mw", timeout=3600
                            )
                        )
                        for _ in range(args.runs)
                    ]
                    print(f"{gb:>6}GB {name:>22} {statistics.median(runs):8.3f}")
                shutil.rmtree(model)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
