"""`modelward bom`: a CycloneDX 1.6 ML-BOM of the models a set of manifests or a cluster uses.

Offline (-f, --policy), every model reference is resolved, verified and scanned as `check`
does. With --cluster, the BOM is built from the ModelVerification records, downloading
nothing; references no record names are listed as unverified. Exit 0 when the BOM is
written, 2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import pathlib
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from modelward import errors
from modelward import settings as settings_
from modelward.adapters import manifests
from modelward.bom import document, inventory, records, results
from modelward.structs import context, evidence, policy

LoadPolicies = Callable[[Sequence[str], str], list[policy.Policy]]
Settings = Callable[[argparse.Namespace], settings_.Settings]
Check = Callable[
    [Sequence[Mapping[str, Any]], Sequence[policy.Policy], settings_.Settings],
    Coroutine[Any, Any, list[tuple[context.AdmissionContext, evidence.Decision]]],
]


@dataclasses.dataclass(frozen=True, slots=True)
class Pipeline:
    """What `check` lends `bom`: policy loading, settings from the flags, the pipeline run."""

    load_policies: LoadPolicies
    settings: Settings
    check: Check


def add_parser(sub: Any, pipeline: Pipeline) -> argparse.ArgumentParser:
    """Register the `bom` subcommand; the caller adds the pipeline flags `check` shares."""
    p: argparse.ArgumentParser = sub.add_parser(
        "bom",
        help="export a CycloneDX ML-BOM of the models in manifests or in the cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "-f", "--file", action="append", help="manifest file or directory (- for stdin)"
    )
    source.add_argument(
        "--cluster", action="store_true", help="the workloads and ModelVerifications of the cluster"
    )
    p.add_argument("--policy", action="append", help="policy file (with -f)")
    p.add_argument("-o", "--output", default="-", help="where to write the BOM (default stdout)")
    p.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the CycloneDX schema check, which takes seconds per thousand components",
    )
    p.set_defaults(fn=lambda args: run(args, pipeline))
    return p


def offline(
    objects: Sequence[Mapping[str, Any]],
    policies: Sequence[policy.Policy],
    settings: settings_.Settings,
    check: Check,
) -> list[inventory.Model]:
    """The models of manifests, each verified and scanned by the pipeline."""
    # Every passing verdict then carries the signed files, for the per-file hashes.
    with_files = [dataclasses.replace(p, runtime_check=True) for p in policies]
    return results.models(asyncio.run(check(objects, with_files, settings)), policies)


def from_cluster() -> list[inventory.Model]:
    """The models of the cluster's workloads, from its ModelVerification records."""
    from modelward.adapters import kube, kube_inventory  # the Kubernetes client only when asked

    kube.reset()  # the kubeconfig of now, not of an earlier call in the same process
    index, kinds = kube_inventory.list_extractors()
    workloads = kube_inventory.list_workloads([*kube_inventory.WORKLOAD_KINDS, *kinds])
    return records.models(workloads, kube_inventory.list_records(), index)


def run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.cluster:
        models, origin = from_cluster(), "cluster"
    else:
        if not args.policy:
            raise errors.InputError("bom -f needs at least one --policy file")
        settings = pipeline.settings(args)
        policies = pipeline.load_policies(args.policy, settings.namespace)
        objects = [doc for _, doc in manifests.documents(args.file)]
        models, origin = offline(objects, policies, settings, pipeline.check), "manifests"
    text = document.render(document.build(models, origin=origin), validate=not args.no_validate)
    if args.output == "-":
        sys.stdout.write(text + "\n")
    else:
        try:
            pathlib.Path(args.output).write_text(text + "\n")
        except OSError as e:
            raise errors.InputError(f"{args.output}: the BOM cannot be written ({e})") from None
        workloads = {u.workload for m in models for u in m.uses}
        print(
            f"modelward: {len(models)} model(s), {len(workloads)} workload(s) in {args.output}",
            file=sys.stderr,
        )
    return 0
