"""Admission latency and throughput for already-verified models: the real Kopf operator (on
the Kubernetes API emulator the tests use) answers HTTPS AdmissionReviews from a load
generator in another process, with keep-alive.

Run: `make bench` or `.venv/bin/python bench/admission_latency.py [--seconds 5]`.
Prints one JSON line per run: the closed-loop maximum rate, then fixed rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures import models, ocipush, signing  # noqa: E402
from tests.fixtures.kube import (  # noqa: E402
    build_review,
    point_kubeconfig,
    serve_kube_api,
    start_operator,
    webhook_settings,
)
from tests.fixtures.registry import start_registry  # noqa: E402

from modelward.adapters import kopf_app  # noqa: E402
from modelward.adapters import kube as kube_adapter  # noqa: E402


def loadgen(url: str, ca: pathlib.Path, body: pathlib.Path, seconds: float, *flag: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "loadgen.py"),
            "--url",
            url,
            "--ca",
            str(ca),
            "--body",
            str(body),
            "--seconds",
            str(seconds),
            *flag,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    result: dict = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="200,500,1000")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="mw-latency-"))
    model = models.make_bert(work)
    key = signing.make_ec_key(work, "bench")
    sig = signing.sign_with_key(model, key, work / "model.sig")
    with (
        start_registry(work / "registry") as registry,
        serve_kube_api(work / "kube") as api,
        pytest.MonkeyPatch.context() as mp,
    ):
        repo = ocipush.unique_repo("bench")
        ocipush.push_model(registry, repo, model, signature=sig)
        uri = f"oci://{registry.host}/{repo}:v1"
        point_kubeconfig(mp, api.kubeconfig)
        settings, ca = webhook_settings(work / "op", insecure_registries=frozenset({registry.host}))
        kube_adapter.reset()
        with start_operator(kopf_app.run, settings, api, ca) as handle:
            api.create(
                {
                    "apiVersion": "modelward.io/v1alpha1",
                    "kind": "ClusterModelPolicy",
                    "metadata": {"name": "bench"},
                    "spec": {
                        "models": [{"glob": "**"}],
                        "authorities": [
                            {"name": "bench", "key": {"data": key.public_pem.decode()}}
                        ],
                    },
                }
            )
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "p",
                    "namespace": "ml",
                    "annotations": {"modelward.io/models": uri},
                },
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            }
            body = work / "review.json"
            body.write_text(json.dumps(build_review(pod)))
            deadline = time.monotonic() + 30
            while True:  # policy indexed and the model verified once: the cache is warm
                answer = asyncio.run(handle.post(json.loads(body.read_text())))[1]
                if json.loads(answer)["response"]["allowed"]:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"never admitted: {answer[:500]!r}")
                time.sleep(0.2)
            url = handle.webhook_url + "/models"
            rows = [
                {
                    "mode": f"closed c={args.concurrency}",
                    **loadgen(url, ca, body, args.seconds, "--concurrency", str(args.concurrency)),
                }
            ]
            for rate in args.rates.split(","):
                rows.append(
                    {
                        "mode": f"open {rate}/s",
                        **loadgen(url, ca, body, args.seconds, "--rate", rate),
                    }
                )
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
