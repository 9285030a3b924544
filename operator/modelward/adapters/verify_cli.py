"""`modelward verify`: check a model on local disk, as the runtime init container does.

Exit 0 when the model is verified, 1 when verification fails (the message says what),
2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modelward import errors
from modelward import settings as settings_
from modelward.pipeline import local, mounted
from modelward.policies import parse
from modelward.structs import policy

EXIT_VERIFIED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_POLICIES = 16
# Policy display names (`ns/name`, `ClusterModelPolicy/name`) as object names.
_NAME = re.compile(r"[^a-z0-9.-]+")

logger = logging.getLogger(__name__)

LoadPolicies = Callable[[Sequence[str], str], list[policy.Policy]]


def add_parser(sub: Any, load_policies: LoadPolicies) -> None:
    """Register the `verify` subcommand on the CLI's subparsers."""
    p = sub.add_parser(
        "verify",
        help="verify a model directory or file on local disk against its signature",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="the model: a directory or a single file")
    p.add_argument(
        "--signature",
        help="the Sigstore bundle (default: PATH/model.sig, or PATH.sig for a file)",
    )
    trust = p.add_mutually_exclusive_group(required=True)
    trust.add_argument(
        "--expected-env",
        metavar="NAME",
        help="environment variable holding the signed files as JSON, as the runtime check's "
        "init container is given them by the admission that verified the signature",
    )
    trust.add_argument(
        "--authorities-env",
        metavar="NAME",
        help="environment variable holding the policies' authorities as JSON, as the runtime "
        "check's init container is given them to verify the signature stored on a volume",
    )
    trust.add_argument("--key", help="public key PEM (ECDSA or Ed25519)")
    trust.add_argument("--certificate-chain", help="CA certificates PEM the signer chains to")
    trust.add_argument(
        "--policy",
        action="append",
        help="policy file; every policy in it must pass (keys inline)",
    )
    p.set_defaults(fn=lambda args: run(args, load_policies))


def _read(path: str, what: str) -> str:
    try:
        return pathlib.Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise errors.InputError(f"{what} {path}: cannot be read ({e})") from None


def _inline_policy(
    authority: Mapping[str, Any] | None = None,
    *,
    name: str = "command-line",
    spec: Mapping[str, Any] | None = None,
) -> policy.Policy:
    """A one-authority policy (or one with the authorities and count of `spec`), parsed (and
    so checked) exactly as a cluster policy would be."""

    def no_secrets(namespace: str, name: str, key: str) -> bytes:
        raise errors.InputError("inline policies read no Secrets")

    pol = parse.parse_policy(
        {
            "kind": parse.CLUSTER_KIND,
            "metadata": {"name": name},
            "spec": {"models": [{"glob": "**"}], "authorities": [authority], **(spec or {})},
        },
        secrets=no_secrets,
        home_namespace="",
    )
    if not pol.ready:
        raise errors.InputError(pol.error_message, reason=pol.error_reason)
    return pol


def policies_from_args(
    args: argparse.Namespace, load_policies: LoadPolicies
) -> list[policy.Policy]:
    """The policies the command line asks for: one inline authority or the policy files."""
    if args.authorities_env:
        return policies_from_env(args.authorities_env)
    if args.key:
        return [_inline_policy({"name": "key", "key": {"data": _read(args.key, "key")}})]
    if args.certificate_chain:
        chain = _read(args.certificate_chain, "certificate chain")
        return [_inline_policy({"name": "certificate-chain", "certificate": {"chain": chain}})]
    policies = load_policies(args.policy, settings_.Settings.from_env().namespace)
    if not policies:
        raise errors.InputError("the policy files hold no ClusterModelPolicy or ModelPolicy")
    return policies


def policies_from_env(env_name: str) -> list[policy.Policy]:
    """The policies a runtime check hands over in `env_name`: [{name, require, authorities}]."""
    text = os.environ.get(env_name)
    if text is None:
        raise errors.InputError(f"the environment variable {env_name} is not set")
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError:
        raw = None
    if (
        not isinstance(raw, list)
        or not 0 < len(raw) <= MAX_POLICIES
        or not all(isinstance(p, Mapping) and isinstance(p.get("name"), str) for p in raw)
    ):
        raise errors.InputError(
            f"{env_name} is not a JSON list of 1 to {MAX_POLICIES} {{name, require, "
            "authorities}} objects"
        )
    return [
        _inline_policy(
            name=_NAME.sub("-", p["name"].lower()).strip("-")[:63] or "policy",
            spec={"authorities": p.get("authorities"), "require": p.get("require")},
        )
        for p in raw
    ]


def run_expected(model: pathlib.Path, env_name: str) -> int:
    """Compare mounted files with the signed files an admission recorded in `env_name`."""
    text = os.environ.get(env_name)
    if text is None:
        raise errors.InputError(f"the environment variable {env_name} is not set")
    expected, ignore = mounted.parse_expected(text)
    try:
        count = mounted.check(model, expected, ignore)
    except (errors.VerificationFailed, errors.FetchError) as e:
        print(f"modelward: DENY {model}: {e.user_message()}", file=sys.stderr)
        return EXIT_FAILED
    print(f"modelward: ok {model}: {count} files match the signed model")
    return EXIT_VERIFIED


def run(args: argparse.Namespace, load_policies: LoadPolicies) -> int:
    """Verify; print one line per policy passed, or the failure on stderr."""
    model = pathlib.Path(args.path)
    if not model.exists():
        raise errors.InputError(f"{model}: no such file or directory")
    if args.expected_env:
        return run_expected(model, args.expected_env)
    signature = pathlib.Path(args.signature) if args.signature else local.default_signature(model)
    limits = settings_.Settings.from_env().limits
    for pol in policies_from_args(args, load_policies):
        try:
            result = local.verify_model(
                model,
                signature,
                pol.authorities,
                require_count=pol.require_count,
                limits=limits,
            )
        except errors.InputError:
            raise
        except errors.ModelwardError as e:
            logger.warning(
                "verify failed",
                extra={"path": str(model), "policy": pol.name, "reason": e.reason},
            )
            print(
                f"modelward: {model} failed verification ({e.reason}, policy {pol.name}): "
                f"{e.user_message()}",
                file=sys.stderr,
            )
            return EXIT_FAILED
        signers = ", ".join(
            f"{a} ({s})" for a, s in zip(result.authorities, result.signers, strict=True)
        )
        print(f"verified {model}: {result.files} files, policy {pol.name}, signed by {signers}")
    return EXIT_VERIFIED
