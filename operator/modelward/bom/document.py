"""The CycloneDX 1.6 document: one `machine-learning-model` component per model, one
`application` component per workload, and the workload → model dependencies.

CycloneDX has no field for signers, verdicts or scans: those are `modelward:` properties.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

import modelward
from modelward import errors
from modelward.bom import inventory
from modelward.oci import reference as oci_reference
from modelward.sources import hf

NS = "modelward"
SHA256 = "sha256:"


def build(models: Sequence[inventory.Model], *, origin: str) -> Bom:
    """The BOM of `models`; `origin` (`manifests`, `cluster`) says what was inventoried."""
    uses: dict[inventory.Workload, list[tuple[inventory.Use, str]]] = {}
    for model in models:
        for use in model.uses:
            uses.setdefault(use.workload, []).append((use, _model_ref(model)))
    workloads = [_workload(w, [u for u, _ in used]) for w, used in uses.items()]
    # Built whole, not through Bom.register_dependency, which scans every dependency per call.
    dependencies = [Dependency(ref=BomRef(_model_ref(m))) for m in models] + [
        Dependency(
            ref=BomRef(_workload_ref(w)),
            dependencies=[Dependency(ref=BomRef(r)) for r in dict.fromkeys(r for _, r in used)],
        )
        for w, used in uses.items()
    ]
    bom = Bom(
        components=[_model(m) for m in models] + workloads,
        dependencies=dependencies,
        properties=[Property(name=f"{NS}:origin", value=origin)],
    )
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="modelward", version=modelward.__version__)
    )
    return bom


def render(bom: Bom, *, validate: bool = True) -> str:
    """The BOM as CycloneDX 1.6 JSON, validated against the schema before it is handed out
    unless `validate` is false (the schema's uniqueness rules cost time quadratic in the
    number of components)."""
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    if not validate:
        return text
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise errors.BomError(
            f"the BOM does not validate against the CycloneDX 1.6 schema: "
            f"{str(error).splitlines()[0]}",
            hint="Report this as a bug of modelward, with the manifests or records used",
        )
    return text


def _props(name: str, values: Iterable[str]) -> list[Property]:
    return [Property(name=f"{NS}:{name}", value=v) for v in values if v]


def _model_ref(model: inventory.Model) -> str:
    return f"model:{model.key}"


def _workload_ref(workload: inventory.Workload) -> str:
    return f"workload:{workload.kind}/{workload.namespace or ''}/{workload.name}"


def _model(model: inventory.Model) -> Component:
    facts = model.facts
    ref = _model_ref(model)
    uri = facts.pinned_uri or (model.references[0] if model.references else model.key)
    props = _props("verdict", [facts.verdict.value]) + _props("reason", [facts.reason])
    if facts.verdict is not inventory.Verdict.VERIFIED:
        props += _props("message", [facts.message])
    props += _props("pinnedRef", [facts.pinned_uri or ""])
    props += _props("reference", model.references)
    props += _props("signer", facts.signers)
    props += _props("attestation", facts.attestations)
    props += _props("checkedAt", [facts.checked_at])
    props += _props("expiresAt", [facts.expires_at])
    if facts.scan is not None:
        props += _props("scan:scanned", [str(facts.scan.scanned).lower()])
        props += _props("scan:passed", [str(facts.scan.passed).lower()])
        props += _props("scan:reason", [facts.scan.reason])
    for verdict in facts.policies:
        outcome = "pass" if verdict.passed else "fail"
        props += _props(f"policy:{verdict.policy}", [f"{outcome} {verdict.reason}"])
    hashes = (
        [HashType(alg=HashAlgorithm.SHA_256, content=facts.digest.removeprefix(SHA256))]
        if facts.digest and facts.digest.startswith(SHA256)
        else []
    )
    purl = _purl(uri)
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=ref,
        name=_name(uri),
        version=_version(uri, facts.digest),
        hashes=hashes,
        purl=purl,
        external_references=[] if purl else _distribution(uri),
        properties=props,
        components=[
            Component(
                type=ComponentType.FILE,
                bom_ref=f"{ref}#{path}",
                name=path,
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha256)],
            )
            for path, sha256 in facts.files
        ],
    )


def _workload(workload: inventory.Workload, uses: Sequence[inventory.Use]) -> Component:
    props = _props("kind", [workload.kind]) + _props("namespace", [workload.namespace or ""])
    props += _props("name", [workload.name])
    props += _props("reference", [f"{u.field_path}: {u.uri}" for u in uses])
    return Component(
        type=ComponentType.APPLICATION,
        bom_ref=_workload_ref(workload),
        name=workload.name,
        group=workload.namespace,
        description=workload.display,
        properties=props,
    )


def _scheme(uri: str) -> str:
    return uri.partition("://")[0].lower() if "://" in uri else ""


def _name(uri: str) -> str:
    """The repository (oci, hf) or location a model comes from, without tag or revision."""
    try:
        if _scheme(uri) == "oci":
            parsed = oci_reference.parse(uri)
            return f"{parsed.registry}/{parsed.repository}"
        if _scheme(uri) == "hf":
            return hf.parse(uri).repo
    except errors.InputError:
        pass
    return uri.partition("?")[0]


def _version(uri: str, digest: str | None) -> str | None:
    """A Hugging Face model's commit; else the digest."""
    if _scheme(uri) == "hf" and digest:
        try:
            parsed = hf.parse(uri)
        except errors.InputError:
            return digest
        if parsed.pinned:
            return parsed.revision
    return digest


def _purl(uri: str) -> PackageURL | None:
    """`pkg:oci` for an OCI artifact pinned to its digest, `pkg:huggingface` for a Hub model
    pinned to its commit; None where no purl type applies or nothing is pinned."""
    try:
        if _scheme(uri) == "oci":
            parsed = oci_reference.parse(uri)
            if parsed.digest is None:
                return None
            qualifiers = {"repository_url": f"{parsed.registry}/{parsed.repository}"}
            return PackageURL(
                type="oci",
                name=parsed.repository.rsplit("/", 1)[-1].lower(),
                version=parsed.digest,
                qualifiers=qualifiers,
            )
        if _scheme(uri) == "hf":
            model = hf.parse(uri)
            if not model.pinned:
                return None
            namespace, _, name = model.repo.rpartition("/")
            return PackageURL(
                type="huggingface",
                namespace=namespace or None,
                name=name,
                version=model.revision.lower(),
            )
    except errors.InputError:
        return None
    return None


def _distribution(uri: str) -> list[ExternalReference]:
    try:
        return [ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(uri))]
    except ValueError:
        return []
