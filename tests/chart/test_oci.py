"""`make chart` publishes the chart as an OCI artifact that Helm 3 and Helm 4 install from."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import urllib.request

import yaml

from tests.chart.conftest import CHART, NAMESPACE, REPO, Helm, mask_generated
from tests.fixtures.registry import start_registry

HELM_CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def chart_version() -> str:
    return str(yaml.safe_load((CHART / "Chart.yaml").read_text())["version"])


def test_make_chart_pushes_an_oci_chart_that_renders_from_the_registry(
    helm: Helm, tmp_path: pathlib.Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    version = chart_version()
    with start_registry(tmp_path / "registry") as registry:
        subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-s",
                "chart",
                f"REGISTRY={registry.host}",
                "PLAIN_HTTP=1",
                f"HELM={helm.path}",
                f"CHART_DIR={tmp_path / 'package'}",
            ],
            cwd=REPO,
            check=True,
            timeout=90,
            env={**os.environ, "HOME": str(home)},
            capture_output=True,
        )
        # The artifact is a Helm chart by media type, at the version's tag.
        request = urllib.request.Request(
            f"{registry.url}/v2/charts/modelward/manifests/{version}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            manifest = json.load(response)
        assert manifest["config"]["mediaType"] == HELM_CONFIG_MEDIA_TYPE
        assert [layer["mediaType"] for layer in manifest["layers"]] == [HELM_CHART_MEDIA_TYPE]

        remote = helm.run(
            "template",
            "modelward",
            f"oci://{registry.host}/charts/modelward",
            "--version",
            version,
            "--plain-http",
            "--namespace",
            NAMESPACE,
            home=home,
        )
    assert "kind: ValidatingWebhookConfiguration" in remote
    assert mask_generated(remote) == mask_generated(helm.render_text({}))


def test_readme_installs_from_an_oci_registry_placeholder() -> None:
    readme = (REPO / "README.md").read_text()
    assert (
        f"helm install modelward oci://REGISTRY/charts/modelward --version {chart_version()}"
        in readme
    )
