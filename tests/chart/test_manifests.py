"""manifests/install.yaml is the current render of the chart (`make manifests`)."""

from __future__ import annotations

import pathlib
import subprocess

import yaml

from tests.chart.conftest import CHART, NAMESPACE, REPO, Helm, kinds, mask_generated

INSTALL = REPO / "manifests" / "install.yaml"


def test_install_yaml_is_current(helm4: Helm, tmp_path: pathlib.Path) -> None:
    fresh = tmp_path / "install.yaml"
    subprocess.run(
        ["make", "--no-print-directory", "-s", "manifests", f"OUT={fresh}"],
        cwd=REPO,
        check=True,
        timeout=60,
    )
    # The TLS key pair is generated anew on every render; everything else must match.
    assert mask_generated(INSTALL.read_text()) == mask_generated(fresh.read_text()), (
        "manifests/install.yaml is stale: run `make manifests`"
    )


def test_install_yaml_applies_in_order() -> None:
    docs = [doc for doc in yaml.safe_load_all(INSTALL.read_text()) if doc]
    order = kinds(docs)
    # CRDs, then the Namespace everything else goes into, the webhook last: kubectl applies in
    # file order, and the webhook should be the last thing to take effect.
    crds = order.count("CustomResourceDefinition")
    assert order[: crds + 1] == ["CustomResourceDefinition"] * crds + ["Namespace"]
    assert order[-1] == "ValidatingWebhookConfiguration"
    assert {doc["metadata"]["name"] for doc in docs[:crds]} == {
        path.name.removesuffix(".yaml") for path in (CHART / "crds").glob("*.yaml")
    }
    assert docs[crds]["metadata"]["name"] == NAMESPACE
    # The CRDs in the file are the chart's, verbatim.
    for doc in docs[:crds]:
        source = CHART / "crds" / f"{doc['metadata']['name']}.yaml"
        assert doc == yaml.safe_load(source.read_text())


def test_helm3_and_helm4_render_alike(helm3: Helm, helm4: Helm) -> None:
    args = ("--include-crds", "--set", "namespace.create=true")
    assert mask_generated(helm3.render_text({}, *args)) == mask_generated(
        helm4.render_text({}, *args)
    )
