"""Operator settings, parsed once at start-up and passed explicitly."""

from __future__ import annotations

import dataclasses
import enum
import os
import pathlib
import tempfile
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from modelward import errors, netrules

DEFAULT_HF_ENDPOINT = "https://huggingface.co"


class NoMatchAction(enum.StrEnum):
    """What happens to a model reference that no policy governs."""

    DENY = "deny"
    WARN = "warn"
    ALLOW = "allow"


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one reference may cost; each breach is a denial, never a crash."""

    max_artifact_bytes: int = 64 * 1024**3
    max_files: int = 10_000
    max_unpacked_bytes: int = 64 * 1024**3
    max_signature_bytes: int = 4 * 1024**2
    max_manifest_bytes: int = 4 * 1024**2
    max_redirects: int = 5
    # Per reference, resolving and downloading together; the admission deadline bounds all.
    download_timeout_seconds: float = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Everything the pipeline and the adapters need to know about their environment."""

    namespace: str = "modelward"
    no_match: NoMatchAction = NoMatchAction.DENY
    timeout_seconds: float = 10.0
    deadline_margin_seconds: float = 1.5
    webhook_addr: str = "0.0.0.0"  # noqa: S104  (a pod serves on all its interfaces)
    webhook_port: int = 8443
    webhook_host: str | None = None
    tls_cert: pathlib.Path | None = None
    tls_key: pathlib.Path | None = None
    # When set, the operator makes and renews the webhook's certificates in this Secret of its
    # namespace (for Service `service_name`) and patches the CA into these configurations.
    tls_secret: str | None = None
    service_name: str = "modelward"
    webhook_configurations: tuple[str, ...] = ()
    # Metrics, liveness and readiness (adapters/probes.py); port 0 picks a free one.
    metrics_addr: str = "0.0.0.0"  # noqa: S104
    metrics_port: int = 8080
    insecure_registries: frozenset[str] = frozenset()
    ca_bundle: pathlib.Path | None = None
    work_dir: pathlib.Path = dataclasses.field(
        default_factory=lambda: pathlib.Path(tempfile.gettempdir()) / "modelward"
    )
    cache_ttl_seconds: float = 3600.0
    # How long a tag or branch is taken to name the digest it resolved to; pinned references
    # are kept as long as verdicts.
    resolve_ttl_seconds: float = 30.0
    cache_size: int = 10_000
    # The mutating webhook rewrites verified oci:// tags to the digests that were verified.
    pin_digests: bool = False
    # The image of the init container that verifies mounted models (policies' runtimeCheck);
    # empty: no runtime checks are injected.
    verifier_image: str = ""
    limits: Limits = dataclasses.field(default_factory=Limits)
    # SSRF rules: cluster ranges refused besides the built-in classes, and explicit allowances.
    blocked_networks: tuple[netrules.IPNetwork, ...] = ()
    egress_allow: netrules.Allowance = dataclasses.field(default_factory=netrules.Allowance)
    hf_endpoint: str = DEFAULT_HF_ENDPOINT
    # Object stores (S3-compatible, GCS); a policy's spec.sources can override them.
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    gcs_endpoint: str | None = None
    # ModelVerification records: shared verdicts every replica reads and writes.
    records: bool = True
    record_ttl_seconds: float = 86400.0
    # How often the leading replica looks for records to verify again, and audits what runs
    # (0: no audit).
    recheck_interval_seconds: float = 60.0
    audit_interval_seconds: float = 600.0
    lease_seconds: float = 15.0
    # How often the operator checks which TUF-mirrored TrustRoots are due for a refresh (each
    # TrustRoot's own spec.tuf.refreshInterval decides when it is).
    trust_refresh_check_seconds: float = 30.0

    @property
    def egress_rules(self) -> netrules.Rules:
        """The SSRF rules every source's connections obey (before policy allowances)."""
        return netrules.Rules(blocked=self.blocked_networks, allow=self.egress_allow)

    @property
    def deadline_seconds(self) -> float:
        """The internal budget of one admission, strictly below the webhook's timeout."""
        return max(0.5, self.timeout_seconds - self.deadline_margin_seconds)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Builds settings from `MODELWARD_*` variables; unknown values are an InputError."""
        env = os.environ if env is None else env
        base = cls()

        def get(name: str) -> str | None:
            value = env.get(f"MODELWARD_{name}")
            return value if value else None

        def path(name: str) -> pathlib.Path | None:
            value = get(name)
            return pathlib.Path(value) if value else None

        try:
            no_match = NoMatchAction(get("NO_MATCH") or base.no_match.value)
        except ValueError:
            raise errors.InputError(
                "MODELWARD_NO_MATCH must be one of deny, warn, allow",
                reason="InvalidSettings",
            ) from None
        try:
            timeout = float(get("TIMEOUT_SECONDS") or base.timeout_seconds)
            port = int(get("WEBHOOK_PORT") or base.webhook_port)
            metrics_port = int(get("METRICS_PORT") or base.metrics_port)
            resolve_ttl = float(get("RESOLVE_TTL_SECONDS") or base.resolve_ttl_seconds)
            record_ttl = float(get("RECORD_TTL_SECONDS") or base.record_ttl_seconds)
            recheck = float(get("RECHECK_INTERVAL_SECONDS") or base.recheck_interval_seconds)
            audit = float(get("AUDIT_INTERVAL_SECONDS") or base.audit_interval_seconds)
            lease = float(get("LEASE_SECONDS") or base.lease_seconds)
        except ValueError:
            raise errors.InputError(
                "MODELWARD_TIMEOUT_SECONDS, MODELWARD_WEBHOOK_PORT, MODELWARD_METRICS_PORT, "
                "MODELWARD_RESOLVE_TTL_SECONDS, MODELWARD_RECORD_TTL_SECONDS, "
                "MODELWARD_RECHECK_INTERVAL_SECONDS, MODELWARD_AUDIT_INTERVAL_SECONDS and "
                "MODELWARD_LEASE_SECONDS must be numbers",
                reason="InvalidSettings",
            ) from None
        if record_ttl <= 0 or recheck <= 0 or audit < 0 or lease <= 0:
            raise errors.InputError(
                "MODELWARD_RECORD_TTL_SECONDS, MODELWARD_RECHECK_INTERVAL_SECONDS and "
                "MODELWARD_LEASE_SECONDS must be positive, MODELWARD_AUDIT_INTERVAL_SECONDS "
                "zero (no audit) or positive",
                reason="InvalidSettings",
            )
        records = (get("RECORDS") or "true").lower()
        if records not in ("true", "false"):
            raise errors.InputError(
                "MODELWARD_RECORDS must be true or false", reason="InvalidSettings"
            )
        insecure = get("INSECURE_REGISTRIES") or ""
        pin = (get("PIN_DIGESTS") or "false").lower()
        if pin not in ("true", "false"):
            raise errors.InputError(
                "MODELWARD_PIN_DIGESTS must be true or false", reason="InvalidSettings"
            )
        configurations = get("WEBHOOK_CONFIGURATIONS") or ""
        limits = _limits(get, base.limits)
        return cls(
            namespace=get("NAMESPACE") or base.namespace,
            no_match=no_match,
            timeout_seconds=timeout,
            resolve_ttl_seconds=resolve_ttl,
            webhook_addr=get("WEBHOOK_ADDR") or base.webhook_addr,
            webhook_port=port,
            webhook_host=get("WEBHOOK_HOST"),
            tls_cert=path("TLS_CERT"),
            tls_key=path("TLS_KEY"),
            tls_secret=get("TLS_SECRET"),
            service_name=get("SERVICE_NAME") or base.service_name,
            webhook_configurations=tuple(c.strip() for c in configurations.split(",") if c.strip()),
            metrics_addr=get("METRICS_ADDR") or base.metrics_addr,
            metrics_port=metrics_port,
            insecure_registries=frozenset(h.strip() for h in insecure.split(",") if h.strip()),
            ca_bundle=path("CA_BUNDLE"),
            work_dir=path("WORK_DIR") or base.work_dir,
            pin_digests=pin == "true",
            verifier_image=get("VERIFIER_IMAGE") or "",
            limits=limits,
            blocked_networks=netrules.parse_networks(
                (get("BLOCKED_NETWORKS") or "").split(","), what="MODELWARD_BLOCKED_NETWORKS"
            ),
            egress_allow=netrules.parse_allowance(
                (get("EGRESS_ALLOW") or "").split(","), what="MODELWARD_EGRESS_ALLOW"
            ),
            hf_endpoint=_endpoint(get("HF_ENDPOINT") or base.hf_endpoint),
            s3_endpoint=get("S3_ENDPOINT"),
            s3_region=get("S3_REGION") or base.s3_region,
            gcs_endpoint=get("GCS_ENDPOINT"),
            records=records == "true",
            record_ttl_seconds=record_ttl,
            recheck_interval_seconds=recheck,
            audit_interval_seconds=audit,
            lease_seconds=lease,
        )


def _endpoint(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query:
        raise errors.InputError(
            f"MODELWARD_HF_ENDPOINT must be an http(s) URL without query, not {value!r}",
            reason="InvalidSettings",
        )
    return value.rstrip("/")


def _limits(get: Callable[[str], str | None], base: Limits) -> Limits:
    """Limits from MODELWARD_MAX_ARTIFACT_BYTES, _MAX_FILES, _MAX_UNPACKED_BYTES and
    _DOWNLOAD_TIMEOUT_SECONDS; each must be a positive number."""
    names = {
        "MAX_ARTIFACT_BYTES": ("max_artifact_bytes", int),
        "MAX_FILES": ("max_files", int),
        "MAX_UNPACKED_BYTES": ("max_unpacked_bytes", int),
        "DOWNLOAD_TIMEOUT_SECONDS": ("download_timeout_seconds", float),
    }
    changes: dict[str, Any] = {}
    for env_name, (field, kind) in names.items():
        raw = get(env_name)
        if raw is None:
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = 0
        if value <= 0:
            raise errors.InputError(
                f"MODELWARD_{env_name} must be a positive number, not {raw!r}",
                reason="InvalidSettings",
            )
        changes[field] = value
    return dataclasses.replace(base, **changes)
