"""Compose the steps for one object: extract, match, resolve, verify, decide, under a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import pathlib
import shutil
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from typing import Protocol

import aiohttp

from modelward import errors
from modelward import settings as settings_
from modelward.extractors import fields, registry
from modelward.pipeline import (
    access,
    attest,
    claims,
    decide,
    digests,
    exempt,
    extract,
    fastpath,
    fetching,
    match,
    pin,
    scan,
    storage,
    verify,
)
from modelward.policies import onerror, static
from modelward.record import metrics, resolutions, verdicts, verification_index
from modelward.sources import base, egress, gcs, hf, https, oci, pvc, s3
from modelward.sources import credentials as credentials_
from modelward.structs import context, evidence, exceptions, policy, refs
from modelward.trust import base as trust

logger = logging.getLogger(__name__)


def default_sources() -> list[base.Source]:
    """One source per supported scheme."""
    return [oci.OciSource(), https.HttpsSource(), hf.HfSource(), s3.S3Source(), gcs.GcsSource()]


def new_session(settings: settings_.Settings) -> aiohttp.ClientSession:
    """The HTTP session sources share, under the settings' SSRF rules."""
    return egress.session(settings.egress_rules)


@contextlib.asynccontextmanager
async def running(
    settings: settings_.Settings, *, declared: registry.Lookup | None = None
) -> AsyncIterator[Admitter]:
    """An Admitter with the default sources and its own session, closed on exit."""
    async with new_session(settings) as session:
        yield Admitter(settings, sources=default_sources(), session=session, declared=declared)


class Recorder(Protocol):
    """Where fresh verdicts go to be shared (ModelVerification records); never blocks."""

    def submit(
        self,
        pinned: refs.PinnedRef,
        results: Sequence[tuple[policy.Policy, evidence.PolicyResult]],
    ) -> None: ...


class Admitter:
    """The pipeline with its long-lived parts: sources, HTTP session, verdict cache."""

    def __init__(
        self,
        settings: settings_.Settings,
        *,
        sources: Sequence[base.Source],
        session: aiohttp.ClientSession,
        cache: verdicts.VerdictCache | None = None,
        secrets: storage.SecretReader | None = None,
        declared: registry.Lookup | None = None,
        records: verification_index.RecordIndex | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.settings = settings
        # The shared ModelVerification records: read after a cache miss, fed fresh verdicts.
        self.records = records
        self.recorder = recorder
        # Reads KServe's storage-config Secrets; None offline, where they stay unresolved.
        self._secrets = secrets
        self.declared = declared
        self._sources = {scheme: s for s in sources for scheme in s.schemes}
        self._session = session
        self.cache = cache or verdicts.VerdictCache(
            ttl=settings.cache_ttl_seconds, size=settings.cache_size
        )
        # One verification per reference at a time: concurrent requests for the same model
        # wait for the first and then read its verdicts from the cache.
        self.resolutions = resolutions.ResolutionCache(
            ttl_mutable=settings.resolve_ttl_seconds,
            ttl_pinned=settings.cache_ttl_seconds,
            size=settings.cache_size,
        )
        self._flights: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def admit(
        self,
        ctx: context.AdmissionContext,
        policies: Sequence[policy.Policy],
        exempting: Sequence[exceptions.PolicyException] = (),
        *,
        pinning: bool = False,
        credentials: base.CredentialProvider | None = None,
        audit: bool = False,
    ) -> evidence.Decision:
        """Decide on one object within the settings' deadline; a timeout is a denial.

        `exempting` are the ModelPolicyExceptions that may waive policies for it. `pinning`
        says the caller rewrites verified `oci://` tags to their digests (the mutating
        webhook): those references are then digest-bound as admitted. `credentials` are the
        requesting workload's own (never another namespace's). `audit` judges a running object
        for the background audit: its budget is the download timeout, not the webhook's, and it
        is neither logged nor counted as an admission.
        """
        started = time.monotonic()
        budget = (
            self.settings.limits.download_timeout_seconds
            if audit
            else self.settings.deadline_seconds
        )
        found = extract.extract_refs(ctx.obj, self.declared)
        results: list[evidence.RefResult] = []
        try:
            async with asyncio.timeout(budget):
                if any(r.storage is not None for r in found):
                    found = await asyncio.to_thread(self._resolve_storage, ctx, found)
                results = list(
                    await asyncio.gather(
                        *(
                            self._evaluate(ctx, r, policies, exempting, pinning, credentials)
                            for r in found
                        )
                    )
                )
        except TimeoutError:
            results = [
                evidence.RefResult(
                    ref=r,
                    error=(
                        "DeadlineExceeded",
                        f"verification did not finish within the {budget:.1f}s admission budget",
                    ),
                    on_error=self._on_error(ctx, r, policies),
                )
                for r in found
            ]
        decision = decide.decide(ctx, results, no_match=self.settings.no_match)
        if not audit:
            elapsed = time.monotonic() - started
            _log(ctx, decision, elapsed)
            metrics.observe_decision(ctx, decision, elapsed)
        return decision

    def _resolve_storage(
        self, ctx: context.AdmissionContext, found: Sequence[refs.ModelRef]
    ) -> list[refs.ModelRef]:
        return [storage.resolve(r, ctx.namespace, self._secrets) for r in found]

    async def verify_ref(self, uri: str, policies: Sequence[policy.Policy]) -> evidence.RefResult:
        """Verify one reference afresh against `policies`, outside any admission: a
        ModelVerification's pre-verification or re-verification. Only what the policies grant
        is used (no workload's credentials); nothing is cached or recorded."""
        ref = refs.ModelRef(uri=fields.normalize_uri(uri), field_path="spec.ref")
        source = self._sources.get(ref.scheme)
        if source is None:
            what = f"scheme {ref.scheme}://" if ref.scheme else "a reference without a scheme"
            return evidence.RefResult(
                ref=ref, error=("Unverifiable", f"{what} cannot be verified ahead of admission")
            )
        ready = [p for p in policies if p.ready and p.static is None]
        async with asyncio.timeout(self.settings.limits.download_timeout_seconds + 5):
            lock = self._flights.setdefault(ref.uri, asyncio.Lock())
            async with lock:
                return await self._verify(ref, source, ready, False, None, ("record",), fresh=True)

    def _on_error(
        self, ctx: context.AdmissionContext, ref: refs.ModelRef, policies: Sequence[policy.Policy]
    ) -> policy.OnError:
        governing = match.governing(policies, ctx, ref.uri, home_namespace=self.settings.namespace)
        return onerror.strictest([p.on_error for p in governing])

    async def _evaluate(
        self,
        ctx: context.AdmissionContext,
        ref: refs.ModelRef,
        policies: Sequence[policy.Policy],
        exempting: Sequence[exceptions.PolicyException],
        pinning: bool,
        credentials: base.CredentialProvider | None,
    ) -> evidence.RefResult:
        governing = match.governing(policies, ctx, ref.uri, home_namespace=self.settings.namespace)
        if not governing:
            if ref.problem:
                # Nothing names the model: no default may admit it unseen.
                return evidence.RefResult(ref=ref, error=("Unverifiable", ref.problem))
            return evidence.RefResult(ref=ref, unmatched=True)
        now = datetime.datetime.now(datetime.UTC)
        waived = [
            exempt.result(p, ex)
            for p in governing
            if (ex := exempt.find(exempting, ctx, ref.uri, p, now=now)) is not None
        ]
        if waived:
            checked = {r.policy for r in waived}
            governing = [p for p in governing if p.key not in checked]
            if not governing:
                return evidence.RefResult(ref=ref, results=tuple(waived))
            found = await self._evaluate(ctx, ref, governing, (), pinning, credentials)
            return dataclasses.replace(found, results=found.results + tuple(waived))
        # Static authorities decide without fetching; the other policies verify signatures.
        decided = tuple(static.verdict(p, p.static) for p in governing if p.static is not None)
        verifying = [p for p in governing if p.static is None]
        if not verifying:
            return evidence.RefResult(ref=ref, results=decided)
        source = None if ref.problem else self._sources.get(ref.scheme)
        if source is None and not ref.problem and ref.scheme == pvc.SCHEME:
            found = claims.decide(ref, verifying, verifier_image=self.settings.verifier_image)
            return dataclasses.replace(found, results=decided + found.results)
        if source is None:
            what = f"scheme {ref.scheme}://" if ref.scheme else "a reference without a scheme"
            problem = ref.problem or f"{what} cannot be resolved and verified by modelward"
            return evidence.RefResult(ref=ref, error=("Unverifiable", problem))
        lock = self._flights.setdefault(ref.uri, asyncio.Lock())
        async with lock:
            will_pin = pinning and pin.pinnable(ref)
            # Credentials are the namespace's own: a resolution made with them serves only
            # requests of that namespace that name the same pull Secrets.
            scope = (ctx.namespace, getattr(credentials, "identity", None))
            result = await self._verify(ref, source, verifying, will_pin, credentials, scope)
        if not decided:
            return result
        return dataclasses.replace(result, results=decided + result.results)

    async def _verify(
        self,
        ref: refs.ModelRef,
        source: base.Source,
        governing: Sequence[policy.Policy],
        will_pin: bool,
        credentials: base.CredentialProvider | None,
        scope: Hashable = None,
        *,
        fresh: bool = False,
    ) -> evidence.RefResult:
        """`fresh` verifies again, reading no cached resolution or verdict, and shares
        nothing: the caller records what it found."""
        resolved = resolutions.key(ref.uri, scope, governing)
        known = None if fresh else self.resolutions.get(resolved)
        if known is not None:
            results, todo = self._settle(known, governing, will_pin)
            if not todo:
                return _result(ref, known, governing, results, cached=True, fast=False)
        self.settings.work_dir.mkdir(parents=True, exist_ok=True)
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="ref-", dir=self.settings.work_dir))
        limit = self.settings.limits.download_timeout_seconds
        try:
            options = fetching.options(governing, self.settings)
            async with fetching.session(self._session, self.settings, options) as session:
                # The workload's own registry logins, then what the governing policies grant.
                grants = access.PolicyAccess(governing)
                ctx = base.FetchContext(
                    session=session,
                    settings=self.settings,
                    workdir=workdir,
                    credentials=credentials_.ChainProvider(
                        *(p for p in (credentials, grants) if p)
                    ),
                    hf_endpoint=options.hf_endpoint,
                    endpoints=grants.endpoints(source.schemes),
                )
                budget = asyncio.timeout(limit)
                try:
                    async with budget:
                        return await self._fetch_and_check(
                            ref, source, governing, ctx, will_pin, resolved, fresh
                        )
                except TimeoutError:
                    if not budget.expired():
                        raise
            raise errors.DownloadTimeout(
                f"resolving and downloading the model took longer than its {limit:g}s "
                "download timeout",
                hint="Raise MODELWARD_DOWNLOAD_TIMEOUT_SECONDS (Helm value "
                "limits.downloadTimeoutSeconds) or serve the model from a faster source",
            )
        except errors.ModelwardError as e:
            return evidence.RefResult(
                ref=ref,
                error=(e.reason, e.user_message()),
                on_error=onerror.strictest([p.on_error for p in governing]),
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)

    async def _fetch_and_check(
        self,
        ref: refs.ModelRef,
        source: base.Source,
        governing: Sequence[policy.Policy],
        ctx: base.FetchContext,
        will_pin: bool,
        resolved: resolutions.Key,
        fresh: bool,
    ) -> evidence.RefResult:
        artifact = await source.open(ref, ctx)
        pinned = artifact.pinned
        if not fresh:
            self.resolutions.put(resolved, pinned)
        results, todo = self._settle(pinned, governing, will_pin, fresh)
        fast = False
        if todo:
            with metrics.verifying(ref.scheme):
                checked, fast = await self._check(artifact, todo, ctx.workdir, will_pin)
            for pol, result in zip(todo, checked, strict=True):
                results[pol.key] = result
                # Only passes are remembered: a denial must end as soon as the model is
                # signed, and a detached signature is not part of the content digest.
                if result.passed and not fresh:
                    self.cache.put(pinned.digest, pol, result)
            if self.recorder is not None and not fresh:
                self.recorder.submit(pinned, list(zip(todo, checked, strict=True)))
        return _result(ref, pinned, governing, results, cached=not todo, fast=fast)

    def _known(self, digest: str, pol: policy.Policy) -> evidence.PolicyResult | None:
        """A standing pass from this replica's cache, else from a shared record."""
        cached = self.cache.get(digest, pol)
        if cached is None and self.records is not None:
            cached = self.records.lookup(digest, pol)
            if cached is not None:
                self.cache.put(digest, pol, cached)
        return cached

    def _settle(
        self,
        pinned: refs.PinnedRef,
        governing: Sequence[policy.Policy],
        will_pin: bool,
        fresh: bool = False,
    ) -> tuple[dict[policy.PolicyKey, evidence.PolicyResult], list[policy.Policy]]:
        """What is known without the model's bytes, per policy; and the policies left to check."""
        results: dict[policy.PolicyKey, evidence.PolicyResult] = {}
        todo = []
        for pol in governing:
            bad = scan.known_bad(pol, pinned.digest, None) if pol.ready else None
            cached = self._known(pinned.digest, pol) if pol.ready and not fresh else None
            denial = digests.mutable_denial(pol, pinned, will_pin=will_pin)
            if bad is not None:
                results[pol.key] = bad
            elif denial is not None:
                results[pol.key] = denial
            elif cached is not None:
                results[pol.key] = cached
            elif not pol.ready:
                results[pol.key] = _not_ready(pol)
            else:
                todo.append(pol)
        return results, todo

    async def _check(
        self,
        artifact: base.Artifact,
        todo: Sequence[policy.Policy],
        workdir: pathlib.Path,
        will_pin: bool,
    ) -> tuple[list[evidence.PolicyResult], bool]:
        """Each policy's verdict, and whether the digest-bound fast path spared the download."""
        uri = artifact.pinned.pinned_uri
        signatures = await artifact.signatures()
        bundle_paths = []
        for i, sig in enumerate(signatures):
            path = workdir / f"signature-{i}.json"
            path.write_bytes(sig.data)
            bundle_paths.append(path)

        # Signatures first: they are cheap, and a model nobody trusted signing is never downloaded.
        verified: dict[policy.PolicyKey, list[tuple[str, evidence.SignedManifest]]] = {}
        failures: dict[policy.PolicyKey, list[errors.ModelwardError]] = {}
        for pol in todo:
            verified[pol.key], failures[pol.key] = await asyncio.to_thread(
                _verify_bundles, bundle_paths, pol.authorities, uri
            )
        files: Mapping[str, str] | None = None
        content = None
        fast = False
        if any(verified.values()):
            files, fast = await fastpath.files(artifact, todo, will_pin=will_pin)
            if not fast:
                # Scanners read the downloaded files; the fast path has only digests.
                content = scan.ContentCheck(
                    workdir / base.MODEL_DIR,
                    files,
                    artifact.pinned.digest,
                    ref=uri,
                    bundles=bundle_paths,
                )

        out = []
        for pol in todo:
            result = _judge(pol, verified[pol.key], failures[pol.key], files, uri, bool(signatures))
            if result.passed and pol.attestations:
                result = await asyncio.to_thread(
                    attest.apply,
                    pol,
                    result,
                    bundle_paths,
                    artifact.pinned.digest,
                    files or {},
                    verified[pol.key],
                )
            if result.passed and content is not None:
                result = await content.apply(pol, result)
            out.append(result)
        return out, fast


def _verify_bundles(
    paths: Sequence[pathlib.Path], authorities: Sequence[policy.Authority], uri: str
) -> tuple[list[tuple[str, evidence.SignedManifest]], list[errors.ModelwardError]]:
    ok: list[tuple[str, evidence.SignedManifest]] = []
    failed: list[errors.ModelwardError] = []
    for authority in authorities:
        for path in paths:
            try:
                ok.append((authority.name, trust.verify(path, authority, ref=uri)))
                break
            except errors.ModelwardError as e:
                failed.append(e)
    return ok, failed


def _judge(
    pol: policy.Policy,
    verified: Sequence[tuple[str, evidence.SignedManifest]],
    failures: Sequence[errors.ModelwardError],
    files: Mapping[str, str] | None,
    uri: str,
    any_signature: bool,
) -> evidence.PolicyResult:
    passed: list[tuple[str, str]] = []
    mismatches: list[tuple[str, errors.ModelwardError]] = []
    for authority, manifest in verified:
        try:
            verify.compare(manifest, files or {}, ref=uri)
        except errors.ModelwardError as e:
            mismatches.append((authority, e))
        else:
            passed.append((authority, manifest.signer))
    names = tuple(a for a, _ in passed)
    if len(passed) >= pol.require_count:
        signed = next(m for a, m in verified if a == names[0])
        return evidence.PolicyResult(
            policy=pol.key,
            mode=pol.mode,
            passed=True,
            reason="Verified",
            message="signature verified",
            authorities=names,
            signers=tuple(s for _, s in passed),
            # Kept (and cached) only where a runtime check will need them.
            files=tuple(sorted(verify.covered(signed, files or {}).items()))
            if pol.runtime_check
            else (),
            ignored=signed.ignore_paths if pol.runtime_check else (),
        )
    if mismatches:
        authority, error = mismatches[0]
        return _failed(pol, error.reason, error.message, (authority,))
    if passed:
        return _failed(
            pol,
            "ThresholdNotMet",
            f"signed by {len(passed)} of the {pol.require_count} required authorities",
            names,
        )
    if not any_signature:
        return _failed(pol, "SignatureMissing", "no signature was found for the model", ())
    first = (
        failures[0] if failures else errors.SignerMismatch("no authority verified the signature")
    )
    authorities = tuple(a.name for a in pol.authorities)
    return _failed(pol, first.reason, first.message, authorities if len(authorities) > 1 else ())


def _failed(
    pol: policy.Policy, reason: str, message: str, authorities: tuple[str, ...]
) -> evidence.PolicyResult:
    return evidence.PolicyResult(
        policy=pol.key,
        mode=pol.mode,
        passed=False,
        reason=reason,
        message=message,
        authorities=authorities,
        on_error=pol.on_error,
    )


def _result(
    ref: refs.ModelRef,
    pinned: refs.PinnedRef,
    governing: Sequence[policy.Policy],
    results: Mapping[policy.PolicyKey, evidence.PolicyResult],
    *,
    cached: bool,
    fast: bool,
) -> evidence.RefResult:
    return evidence.RefResult(
        ref=ref,
        digest=pinned.digest,
        pinned_uri=pinned.pinned_uri,
        results=tuple(results[p.key] for p in governing),
        cached=cached,
        mutable=pinned.mutable,
        fast_path=fast,
    )


def _not_ready(pol: policy.Policy) -> evidence.PolicyResult:
    return _failed(pol, pol.error_reason, f"the policy is not ready: {pol.error_message}", ())


def _log(ctx: context.AdmissionContext, decision: evidence.Decision, seconds: float) -> None:
    logger.info(
        "decision",
        extra={
            "uid": ctx.uid,
            "operation": ctx.operation,
            "kind": ctx.qualified_kind,
            "namespace": ctx.namespace,
            # Not "name": LogRecord owns that attribute, and logging refuses to overwrite it.
            "object_name": ctx.name,
            "refs": [
                {
                    "ref": r.ref.uri,
                    "field": r.ref.field_path,
                    "digest": r.digest,
                    "cached": r.cached,
                    "fast_path": r.fast_path,
                    "error": r.error[0] if r.error else None,
                    "policies": {x.policy.display: x.reason for x in r.results},
                    "exceptions": [
                        {
                            "policy": x.policy.display,
                            "exception": x.exception[0],
                            "owner": x.exception[1],
                        }
                        for x in r.results
                        if x.exception
                    ],
                }
                for r in decision.refs
            ],
            "verdict": "allow" if decision.allowed else "deny",
            "reason": decision.reason,
            "tolerated": list(decision.tolerated),
            "dry_run": ctx.dry_run,
            "duration_ms": round(seconds * 1000, 2),
        },
    )
