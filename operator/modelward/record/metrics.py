"""Prometheus metrics: what modelward decided, how long it took, what it fetched.

Label values are bounded: verdicts, reason codes, kinds, policy names and URI schemes from
fixed vocabularies, never a model reference, digest or object name (each would be a new
time series per request).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from modelward.structs import context, evidence

NAMESPACE = "modelward"

# Admission latency is bounded by the webhook timeout (at most 30 s); verification of a large
# model on first sight takes as long as its download.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30)
VERIFY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

KNOWN_SCHEMES = frozenset({"oci", "https", "http", "s3", "gs", "hf", "pvc", "file"})
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$")
OTHER = "other"
NO_POLICY = "none"

ADMISSIONS = Counter(
    "admission_requests",
    "Admission requests answered, by verdict (allow, deny) and object kind.",
    ["verdict", "kind"],
    namespace=NAMESPACE,
)
DECISIONS = Counter(
    "decisions",
    "Verdicts on model references: one per reference and governing policy "
    "(policy 'none' when no policy governs it or it could not be evaluated).",
    ["verdict", "policy", "kind", "reason"],
    namespace=NAMESPACE,
)
ADMISSION_SECONDS = Histogram(
    "admission_duration_seconds",
    "Time to decide on one admission request.",
    ["kind"],
    namespace=NAMESPACE,
    buckets=LATENCY_BUCKETS,
)
VERIFICATION_SECONDS = Histogram(
    "verification_duration_seconds",
    "Time to verify one artifact's signatures and files against the governing policies.",
    ["scheme"],
    namespace=NAMESPACE,
    buckets=VERIFY_BUCKETS,
)
SCAN_SECONDS = Histogram(
    "scan_duration_seconds",
    "Time a content scanner took on one artifact.",
    ["scanner"],
    namespace=NAMESPACE,
    buckets=VERIFY_BUCKETS,
)
FETCHED_BYTES = Counter(
    "fetched_bytes",
    "Bytes of models and signatures downloaded from sources.",
    namespace=NAMESPACE,
)
CACHE_LOOKUPS = Counter(
    "verdict_cache_lookups",
    "Verdict cache lookups by result (hit, miss).",
    ["result"],
    namespace=NAMESPACE,
)
RECORD_LOOKUPS = Counter(
    "record_lookups",
    "ModelVerification record lookups after a verdict cache miss, by result (hit, miss).",
    ["result"],
    namespace=NAMESPACE,
)
RECORD_WRITES = Counter(
    "record_writes",
    "ModelVerification status writes, by result (written, conflict, error).",
    ["result"],
    namespace=NAMESPACE,
)
AUDIT_VIOLATIONS = Counter(
    "audit_violations",
    "Running objects the background audit found whose models no longer pass, by policy.",
    ["policy"],
    namespace=NAMESPACE,
)
ERRORS = Counter(
    "errors",
    "References that could not be evaluated, by source scheme and reason code.",
    ["source", "reason"],
    namespace=NAMESPACE,
)

# Every metric family modelward exports, by the name Prometheus shows (counters gain _total).
EXPORTED: tuple[Counter | Histogram, ...] = (
    ADMISSIONS,
    DECISIONS,
    ADMISSION_SECONDS,
    VERIFICATION_SECONDS,
    SCAN_SECONDS,
    FETCHED_BYTES,
    CACHE_LOOKUPS,
    RECORD_LOOKUPS,
    RECORD_WRITES,
    AUDIT_VIOLATIONS,
    ERRORS,
)


def registry() -> CollectorRegistry:
    """The registry /metrics serves: modelward's metrics and the process collectors."""
    return REGISTRY


def bounded(value: str) -> str:
    """A label value as given when it is short and plain, else `other`."""
    return value if _LABEL.match(value) else OTHER


def scheme_label(scheme: str) -> str:
    """A reference's scheme, from a fixed list (references are user input)."""
    return scheme if scheme in KNOWN_SCHEMES else (OTHER if scheme else "none")


def observe_decision(
    ctx: context.AdmissionContext, decision: evidence.Decision, seconds: float
) -> None:
    """Count one admission and every per-reference verdict in it."""
    kind = bounded(ctx.qualified_kind)
    ADMISSIONS.labels("allow" if decision.allowed else "deny", kind).inc()
    ADMISSION_SECONDS.labels(kind).observe(seconds)
    for ref in decision.refs:
        if ref.error is not None:
            reason = bounded(ref.error[0])
            ERRORS.labels(scheme_label(ref.ref.scheme), reason).inc()
            DECISIONS.labels("fail", NO_POLICY, kind, reason).inc()
        elif ref.unmatched:
            DECISIONS.labels("unmatched", NO_POLICY, kind, "NoPolicy").inc()
        for result in ref.results:
            DECISIONS.labels(
                "pass" if result.passed else "fail",
                bounded(result.policy.display),
                kind,
                bounded(result.reason),
            ).inc()


def fetched(size: int) -> None:
    """Count downloaded bytes."""
    FETCHED_BYTES.inc(size)


def cache_lookup(hit: bool) -> None:
    """Count one verdict cache lookup."""
    CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()


def record_lookup(hit: bool) -> None:
    """Count one ModelVerification record lookup."""
    RECORD_LOOKUPS.labels("hit" if hit else "miss").inc()


def record_write(result: str) -> None:
    """Count one record status write: written, conflict or error."""
    RECORD_WRITES.labels(result).inc()


def audit_violation(policy: str) -> None:
    """Count one object the audit found failing a policy."""
    AUDIT_VIOLATIONS.labels(bounded(policy)).inc()


@contextlib.contextmanager
def verifying(scheme: str) -> Iterator[None]:
    """Time one artifact's verification."""
    started = time.perf_counter()
    try:
        yield
    finally:
        VERIFICATION_SECONDS.labels(scheme_label(scheme)).observe(time.perf_counter() - started)


@contextlib.contextmanager
def scanning(scanner: str) -> Iterator[None]:
    """Time one scanner's run on one artifact."""
    started = time.perf_counter()
    try:
        yield
    finally:
        SCAN_SECONDS.labels(bounded(scanner)).observe(time.perf_counter() - started)
