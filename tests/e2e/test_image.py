"""The operator image, really built with buildah (`make image`), run, and pushed.

Slow: the first build makes the Debian base with debootstrap; later builds reuse its cached
root filesystem.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

import modelward
from tests.chart.conftest import REPO, helm_binary, only
from tests.fixtures import models, signing
from tests.fixtures.registry import Registry

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

logger = logging.getLogger(__name__)

IMAGE = f"localhost/modelward:{modelward.__version__}"
STORAGE = REPO / ".cache" / "image" / "storage"
BUILD_TIMEOUT = 540
# Debian minbase, Python and modelward's dependencies: well below this, or something
# that should not be there got in.
MAX_SIZE_BYTES = 500_000_000
NON_ROOT = "65532:65532"


def buildah(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "buildah",
            "--root",
            str(STORAGE),
            "--runroot",
            str(STORAGE / "run"),
            "--storage-driver",
            "vfs",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def image() -> str:
    """`make image`, timed; the built image's name."""
    proc = subprocess.run(
        ["make", "--no-print-directory", "-s", "image", f"IMAGE={IMAGE}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == IMAGE
    return IMAGE


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[str]:
    """A working container of the image, removed afterwards."""
    made = buildah("from", "--pull=never", image)
    assert made.returncode == 0, made.stderr
    name = made.stdout.strip().splitlines()[-1]
    yield name
    buildah("rm", name)


def run(
    container: str, *command: str, mounts: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """A command in the container, as the image's own user."""
    volumes = [arg for mount in mounts for arg in ("--volume", mount)]
    return buildah("run", "--isolation", "chroot", *volumes, container, "--", *command)


def test_image_config_is_non_root_and_runs_the_operator(
    image: str, record_property: pytest.RecordProperty
) -> None:
    inspected = json.loads(buildah("inspect", "--type", "image", image).stdout)
    config = inspected["OCIv1"]["config"]
    assert config["User"] == NON_ROOT
    assert config["Entrypoint"] == ["modelward"]
    assert config["Cmd"] == ["operator"]
    assert {"8443/tcp", "8080/tcp"} <= set(config.get("ExposedPorts", {}))
    (listed,) = json.loads(buildah("images", "--json", image).stdout)
    number, unit = listed["size"].split()  # "405 MB"
    size = int(float(number) * {"kB": 1e3, "MB": 1e6, "GB": 1e9}[unit])
    record_property("image_size_bytes", size)
    logger.warning("image %s is %.0f MB", image, size / 1e6)
    assert size < MAX_SIZE_BYTES


def test_image_prints_its_version_as_non_root(container: str) -> None:
    version = run(container, "modelward", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"modelward {modelward.__version__}"
    assert run(container, "id", "-u").stdout.strip() == "65532"
    # Only what runs: no build tools or package sources in the final image.
    leftovers = run(
        container, "sh", "-c", "ls -d /src /root/.cache 2>/dev/null; command -v gcc pip3"
    )
    assert leftovers.stdout.strip() == ""


def _readable(path: pathlib.Path) -> None:
    # The image runs as 65532; the test's files are root's.
    for root, _dirs, files in os.walk(path):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(pathlib.Path(root) / name, 0o644)


@pytest.mark.parametrize(("tamper", "code"), [(False, 0), (True, 1)], ids=["signed", "tampered"])
def test_image_verifies_a_model_as_the_init_container_would(
    container: str, tmp_path: pathlib.Path, bert_model: pathlib.Path, tamper: bool, code: int
) -> None:
    model = models.copy_model(bert_model, tmp_path / "mount" / "model")
    key = signing.make_ec_key(tmp_path / "mount" / "keys")
    signing.sign_with_key(model, key, model / "model.sig")
    if tamper:
        models.flip_byte(model / "model.safetensors")
    _readable(tmp_path / "mount")
    result = run(
        container,
        "modelward",
        "verify",
        "/mnt/model",
        "--key",
        "/mnt/keys/signer.pub",
        mounts=(f"{tmp_path / 'mount'}:/mnt:ro",),
    )
    assert result.returncode == code, result.stdout + result.stderr
    if tamper:
        assert "DigestMismatch" in result.stderr
    else:
        assert "verified /mnt/model" in result.stdout


def test_pushed_image_digest_pins_the_chart(image: str, registry: Registry) -> None:
    digest_file = STORAGE.parent / "pushed.digest"
    target = f"{registry.host}/modelward:{modelward.__version__}"
    pushed = buildah(
        "push", "--tls-verify=false", "--digestfile", str(digest_file), image, f"docker://{target}"
    )
    assert pushed.returncode == 0, pushed.stderr
    digest = digest_file.read_text().strip()
    assert digest.startswith("sha256:")
    request = urllib.request.Request(
        f"{registry.url}/v2/modelward/manifests/{digest}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Docker-Content-Digest"] == digest
    docs = helm_binary("helm4").render(
        {"image": {"repository": f"{registry.host}/modelward", "digest": digest}}
    )
    (operator,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert operator["image"] == f"{target}@{digest}"
