"""Real Helm 3 and Helm 4 binaries for the chart tests (scripts/install-helm.sh installs them)."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pathlib
import re
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "modelward"
TOOLS = REPO / ".cache" / "tools"
NAMESPACE = "modelward"

# The versions scripts/install-helm.sh installs: the Helm most clusters are driven by, and the
# current one.
HELM_VERSIONS = {"helm3": "v3.18.0", "helm4": "v4.1.4"}

Manifest = dict[str, Any]

# Lines carrying the TLS material generated at render time, which differs on every render.
_GENERATED = re.compile(
    r"^(\s+(?:ca\.crt|tls\.crt|tls\.key|caBundle|checksum/tls|modelward\.io/tls-not-after):)"
    r" .*$",
    re.MULTILINE,
)


def mask_generated(text: str) -> str:
    """The rendered text with its per-render TLS material replaced by a placeholder."""
    return _GENERATED.sub(r"\1 <generated>", text)


class HelmError(Exception):
    """A helm command failed; the message holds its stderr."""


@dataclasses.dataclass(frozen=True)
class Helm:
    """One helm binary, run against the chart."""

    name: str
    path: pathlib.Path

    def run(self, *args: str, stdin: str | None = None, home: pathlib.Path | None = None) -> str:
        """Runs helm; returns stdout or raises HelmError with stderr.

        `home` replaces $HOME, for commands that reach a cluster and cache its discovery there.
        """
        proc = subprocess.run(
            [str(self.path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "HOME": str(home)} if home else None,
        )
        if proc.returncode != 0:
            raise HelmError(proc.stderr.strip() or proc.stdout.strip())
        return proc.stdout

    def render_text(
        self,
        values: Mapping[str, Any] | None = None,
        *extra: str,
        namespace: str = NAMESPACE,
    ) -> str:
        """`helm template` of the chart with these values, as text."""
        return self.run(
            "template",
            "modelward",
            str(CHART),
            "--namespace",
            namespace,
            "--values",
            "-",
            *extra,
            stdin=json.dumps(dict(values or {})),
        )

    def render(
        self,
        values: Mapping[str, Any] | None = None,
        *extra: str,
        namespace: str = NAMESPACE,
    ) -> list[Manifest]:
        """`helm template` of the chart with these values, as objects."""
        text = self.render_text(values, *extra, namespace=namespace)
        return [doc for doc in yaml.safe_load_all(text) if doc]


def helm_binary(name: str) -> Helm:
    """The installed helm binary `name`, or a test failure saying how to install it."""
    path = TOOLS / name / "helm"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run scripts/install-helm.sh", pytrace=False)
    helm = Helm(name, path)
    version = helm.run("version", "--template", "{{.Version}}").strip()
    if version != HELM_VERSIONS[name]:
        pytest.fail(
            f"{path} is helm {version}, expected {HELM_VERSIONS[name]}: "
            "run scripts/install-helm.sh",
            pytrace=False,
        )
    return helm


@pytest.fixture(scope="session", params=sorted(HELM_VERSIONS))
def helm(request: pytest.FixtureRequest) -> Helm:
    """Each helm binary in turn: every test using it runs under Helm 3 and Helm 4."""
    return helm_binary(request.param)


@pytest.fixture(scope="session")
def helm4() -> Helm:
    """The helm that renders manifests/install.yaml."""
    return helm_binary("helm4")


@pytest.fixture(scope="session")
def helm3() -> Helm:
    """Helm 3, to compare with Helm 4."""
    return helm_binary("helm3")


def only(docs: list[Manifest], kind: str) -> Manifest:
    """The one object of this kind."""
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def named(docs: list[Manifest], kind: str, name: str) -> Manifest:
    """The one object of this kind and name."""
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def kinds(docs: list[Manifest]) -> list[str]:
    """The kinds rendered, in order."""
    return [doc["kind"] for doc in docs]


# ---- the CRDs' OpenAPI schemas, used as JSON Schemas ----

CRDS = {
    "ClusterModelPolicy": CHART / "crds" / "clustermodelpolicies.modelward.io.yaml",
    "ModelPolicy": CHART / "crds" / "modelpolicies.modelward.io.yaml",
}

# Not policies: each tested on its own (tests/chart/test_extractor_crd.py, ...).
EXTRACTOR_CRD = CHART / "crds" / "modelextractors.modelward.io.yaml"
OTHER_CRDS = {
    "ModelExtractor": EXTRACTOR_CRD,
    "ModelVerification": CHART / "crds" / "modelverifications.modelward.io.yaml",
}

Schema = dict[str, Any]


def crd(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of this kind, from the chart."""
    path = OTHER_CRDS.get(kind) or CRDS[kind]
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def openapi(kind: str) -> Schema:
    """The kind's openAPIV3Schema."""
    (version,) = crd(kind)["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def walk(schema: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Every schema node under `schema` (properties, items, maps) with its dotted path."""
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{path}{{}}")


def strict(schema: Schema) -> Schema:
    """The schema with unknown fields refused, as kubectl's default strict field validation does
    (the API server would otherwise prune them silently)."""
    schema = copy.deepcopy(schema)
    for _, node in walk(schema):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
    return schema


def crd_errors(document: dict[str, Any]) -> list[jsonschema.ValidationError]:
    """What the kind's schema finds wrong with a policy (CEL rules are not evaluated)."""
    validator = jsonschema.Draft7Validator(
        strict(openapi(document["kind"])), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return list(validator.iter_errors(document))
