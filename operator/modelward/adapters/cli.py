"""The `modelward` command: check manifests offline, run the operator, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import pathlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import modelward
from modelward import errors, logs, netrules
from modelward import settings as settings_
from modelward.adapters import bom_cli, manifests, scan_cli, verify_cli
from modelward.extractors import declared
from modelward.pipeline import admit, decode, respond
from modelward.policies import parse, trustroot_index, trustroots
from modelward.structs import context, evidence, policy
from modelward.trust import tufmirror

EXIT_ADMITTED, EXIT_DENIED, EXIT_USAGE = 0, 1, 2


def _documents(paths: Sequence[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    # Bounded in size and count, directories expanded: the same reader as `bom`.
    return manifests.documents(paths)


def _offline_secret(namespace: str, name: str, key: str) -> bytes:
    raise errors.PolicyError(
        f"Secret {namespace}/{name} cannot be read offline; inline the key material for `check`",
        reason="SecretNotFound",
    )


def _offline_configmap(namespace: str, name: str, key: str) -> bytes:
    raise errors.PolicyError(
        f"ConfigMap {namespace}/{name} cannot be read offline; use trustedRootJSON for `check`",
        reason="TrustRootUnavailable",
    )


def load_policies(
    paths: Sequence[str], home_namespace: str, *, tuf: trustroots.TufLoader | None = None
) -> list[policy.Policy]:
    """Parse policy files (and the TrustRoots their keyless authorities name, TUF mirrors
    fetched with `tuf`); an unusable policy is an input error offline (nobody sees a status)."""
    docs = list(_documents(paths))
    roots = trustroot_index.TrustRootIndex()
    for name, doc in docs:
        if doc.get("kind") == "TrustRoot":
            roots.put(
                trustroots.parse_trust_root(
                    doc, configmaps=_offline_configmap, home_namespace=home_namespace, tuf=tuf
                )
            )
        elif doc.get("kind") not in (parse.CLUSTER_KIND, parse.NAMESPACED_KIND):
            raise errors.InputError(
                f"{name}: kind {doc.get('kind')!r} is not ClusterModelPolicy, ModelPolicy "
                "or TrustRoot"
            )
    policies = [doc for _, doc in docs if doc.get("kind") != "TrustRoot"]
    return load_policies_from_objects(policies, home_namespace, trust_roots=roots.read)


def load_policies_from_objects(
    docs: Sequence[Mapping[str, Any]],
    home_namespace: str,
    *,
    trust_roots: trustroot_index.TrustRootReader | None = None,
) -> list[policy.Policy]:
    """Parse policy objects; an unusable one raises InputError with its problem."""
    policies = []
    for doc in docs:
        pol = parse.parse_policy(
            doc, secrets=_offline_secret, home_namespace=home_namespace, trust_roots=trust_roots
        )
        if not pol.ready:
            raise errors.InputError(f"policy {pol.name}: {pol.error_message}")
        policies.append(pol)
    return policies


async def check(
    objects: Sequence[Mapping[str, Any]],
    policies: Sequence[policy.Policy],
    settings: settings_.Settings,
) -> list[tuple[context.AdmissionContext, evidence.Decision]]:
    """Run the admission pipeline on manifests, as the webhook would on CREATE. ModelExtractors
    among them declare the fields of other kinds."""
    index, objects = declared.split_declarations(objects)
    namespaces = {
        str(o.get("metadata", {}).get("name")): dict(o.get("metadata", {}).get("labels") or {})
        for o in objects
        if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1"
    }
    contexts = [
        decode.from_object(
            o,
            namespace=o.get("metadata", {}).get("namespace") or "default",
            namespace_labels=namespaces.get(
                str(o.get("metadata", {}).get("namespace") or "default"), {}
            ),
        )
        for o in objects
        if o.get("kind") != "Namespace"
    ]
    async with admit.running(settings, declared=index) as admitter:
        return [(ctx, await admitter.admit(ctx, policies)) for ctx in contexts]


def _settings(args: argparse.Namespace) -> settings_.Settings:
    base = settings_.Settings.from_env()
    return dataclasses.replace(
        base,
        no_match=settings_.NoMatchAction(args.no_match) if args.no_match else base.no_match,
        insecure_registries=base.insecure_registries | frozenset(args.insecure_registry or ()),
        ca_bundle=pathlib.Path(args.ca_bundle) if args.ca_bundle else base.ca_bundle,
        timeout_seconds=args.timeout or base.timeout_seconds,
        egress_allow=base.egress_allow
        | netrules.parse_allowance(args.allow_egress or (), what="--allow-egress"),
    )


def _cmd_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    mirrors = tufmirror.TufMirrors(
        settings.work_dir / "tuf", settings.egress_rules, ca_bundle=settings.ca_bundle
    )
    policies = load_policies(args.policy, settings.namespace, tuf=mirrors.load)
    objects = [doc for _, doc in _documents(args.file)]
    results = asyncio.run(check(objects, policies, settings))
    if args.output == "json":
        out = {
            "allowed": all(d.allowed for _, d in results),
            "objects": [respond.to_json(c, d) for c, d in results],
        }
        print(json.dumps(out, indent=2))
    else:
        for ctx, decision in results:
            print(respond.to_text(ctx, decision))
    return EXIT_ADMITTED if all(d.allowed for _, d in results) else EXIT_DENIED


def _cmd_refs(args: argparse.Namespace) -> int:
    from modelward.adapters import refs

    found = refs.collect(doc for _, doc in _documents(args.file))
    if args.output == "json":
        print(json.dumps(refs.to_json(found), indent=2))
    else:
        print(refs.to_text(found))
    return EXIT_ADMITTED


def _cmd_operator(args: argparse.Namespace) -> int:
    from modelward.adapters import kopf_app  # Kopf is heavy; only the operator needs it

    logs.setup(args.log_level)
    settings = settings_.Settings.from_env()
    logging.getLogger(__name__).info("starting", extra={"version": modelward.__version__})
    asyncio.run(kopf_app.run(settings))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from modelward.adapters import demo

    return int(demo.main(keep=args.keep))


def _cmd_version(args: argparse.Namespace) -> int:
    print(f"modelward {modelward.__version__}")
    return 0


def _pipeline_flags(p: argparse.ArgumentParser) -> None:
    """The flags of commands that run the pipeline offline (`check`, `bom -f`)."""
    p.add_argument("--no-match", choices=[a.value for a in settings_.NoMatchAction])
    p.add_argument(
        "--insecure-registry", action="append", help="registry host:port spoken to over plain HTTP"
    )
    p.add_argument(
        "--allow-egress",
        action="append",
        help="CIDR or host modelward may fetch from despite the SSRF rules (e.g. 127.0.0.1)",
    )
    p.add_argument("--ca-bundle", help="extra CA certificates for HTTPS sources")
    p.add_argument("--timeout", type=float, help="admission budget in seconds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelward", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="evaluate manifests against policies offline")
    p.add_argument(
        "-f", "--file", action="append", required=True, help="manifest file (- for stdin)"
    )
    p.add_argument("--policy", action="append", required=True, help="policy file")
    p.add_argument("--output", "-o", choices=("text", "json"), default="text")
    _pipeline_flags(p)
    p.set_defaults(fn=_cmd_check)
    _pipeline_flags(bom_cli.add_parser(sub, bom_cli.Pipeline(load_policies, _settings, check)))

    p = sub.add_parser("refs", help="list the model references in manifests, offline")
    p.add_argument(
        "-f", "--file", action="append", required=True, help="manifest file (- for stdin)"
    )
    p.add_argument("--output", "-o", choices=("text", "json"), default="text")
    p.set_defaults(fn=_cmd_refs)
    scan_cli.add_parser(sub)

    verify_cli.add_parser(sub, load_policies)

    p = sub.add_parser("operator", help="run the Kopf operator and its webhook")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(fn=_cmd_operator)

    p = sub.add_parser("demo", help="sign sample models, serve them, show decisions")
    p.add_argument("--keep", action="store_true", help="keep the demo directory")
    p.set_defaults(fn=_cmd_demo)

    p = sub.add_parser("version", help="print the version")
    p.set_defaults(fn=_cmd_version)
    parser.add_argument("--version", action="version", version=f"modelward {modelward.__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 admitted or clean, 1 denied or findings, 2 usage or
    input error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else 0
    try:
        return int(args.fn(args))
    except errors.ModelwardError as e:
        print(f"modelward: error: {e.user_message()}", file=sys.stderr)
        return EXIT_USAGE
