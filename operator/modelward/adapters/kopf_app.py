"""The Kopf operator: policy handlers feed the index; a validating webhook runs the pipeline.

Handlers are thin: they translate Kopf's callbacks into calls on `policies` and `pipeline`.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import json
import logging
import pathlib
import ssl
import threading
from collections.abc import AsyncIterator, Mapping, MutableMapping
from typing import Any, cast

import aiohttp
import aiohttp.web
import kopf
import kubernetes

from modelward import errors
from modelward import settings as settings_
from modelward.adapters import (
    claimlookup,
    events,
    kopf_audit,
    kopf_exceptions,
    kopf_records,
    kopf_trust,
    kube,
    leader,
    probes,
    pullsecrets,
    webhook_tls,
)
from modelward.adapters import records as records_
from modelward.extractors import declared
from modelward.extractors import registry as registry_
from modelward.extractors import status as extractor_status
from modelward.pipeline import admit, decode, pin, runtimecheck, runtimeguard
from modelward.policies import exception_index, index, parse, status, trustroot_index
from modelward.record import verification_index
from modelward.structs import context

logger = logging.getLogger(__name__)

GROUP, VERSION = "modelward.io", "v1alpha1"
POLICY_PLURALS = {
    "clustermodelpolicies": parse.CLUSTER_KIND,
    "modelpolicies": parse.NAMESPACED_KIND,
}
WEBHOOK_ID = "models"
PIN_WEBHOOK_ID = "pin"
ADMITTED_OPERATIONS = ("CREATE", "UPDATE")

EXTRACTORS_PLURAL = "modelextractors"

# The review as the server decoded it, once per request: the handlers build on it.
_request: contextvars.ContextVar[context.AdmissionContext | None] = contextvars.ContextVar(
    "request", default=None
)
_request_uid: contextvars.ContextVar[str] = contextvars.ContextVar("request_uid", default="")


@dataclasses.dataclass
class State:
    """What the handlers share within one operator."""

    settings: settings_.Settings
    policies: index.PolicyIndex = dataclasses.field(default_factory=index.PolicyIndex)
    trust_roots: trustroot_index.TrustRootIndex = dataclasses.field(
        default_factory=trustroot_index.TrustRootIndex
    )
    exceptions: exception_index.ExceptionIndex = dataclasses.field(
        default_factory=exception_index.ExceptionIndex
    )
    # The last seen body of each policy, to re-parse those naming a TrustRoot that changed.
    policy_bodies: dict[index.Key, dict[str, Any]] = dataclasses.field(default_factory=dict)
    namespaces: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    extractors: declared.DeclaredIndex = dataclasses.field(default_factory=declared.DeclaredIndex)
    admitter: admit.Admitter | None = None
    session: aiohttp.ClientSession | None = None
    health: probes.Health = dataclasses.field(default_factory=probes.Health)
    probe_server: probes.ProbeServer | None = None
    events: events.Poster | None = None
    tls_task: asyncio.Task[None] | None = None
    # ModelVerification records (None when disabled), their writer, and the Lease that picks
    # the replica doing the background work.
    records: verification_index.RecordIndex | None = None
    writer: records_.Writer | None = None
    leadership: leader.Leadership | None = None
    tasks: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)
    # (object uid, reference, reason) of the violations already reported by an Event.
    audit_reported: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)


class WebhookServer(kopf.WebhookServer):
    """Kopf's server, with malformed reviews refused as 400s and the request's namespace and
    uid kept for the handler (Kopf passes neither; Pods made by controllers carry no
    metadata.namespace)."""

    health: probes.Health | None = None

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        async def checked(request: Any, **kwargs: Any) -> Any:
            try:
                ctx = decode.from_review(request)
            except errors.InputError as e:
                raise aiohttp.web.HTTPBadRequest(reason=e.message) from None
            _request.set(ctx)
            _request_uid.set(ctx.uid)
            return await fn(request, **kwargs)

        async for config in super().__call__(checked):
            if self.health is not None:
                self.health.webhook = True  # Kopf yields the config once the server listens
            yield config

    @staticmethod
    async def _serve(fn: Any, request: aiohttp.web.Request) -> aiohttp.web.Response:
        # Kopf's own reader turns a body that is not UTF-8, or JSON nested past the recursion
        # limit, into a 500; every malformed body must be a 400 that names the problem.
        # Bodies over aiohttp's 1 MiB limit are refused with a 413 while reading. aiohttp keeps
        # the body it read, so Kopf's reader then parses a body known to be good.
        raw = await request.read()
        try:
            json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise aiohttp.web.HTTPBadRequest(reason="the body is not UTF-8") from None
        except json.JSONDecodeError as e:
            raise aiohttp.web.HTTPBadRequest(reason=f"the body is not JSON: {e.msg}") from None
        except RecursionError:
            raise aiohttp.web.HTTPBadRequest(reason="the body is nested too deeply") from None
        response: aiohttp.web.Response = await kopf.WebhookServer._serve(fn, request)
        return response


def _quiet_denials(record: logging.LogRecord) -> bool:
    """Kopf logs every denial as a handler failure; modelward's own decision log has it."""
    return not record.getMessage().startswith(f"Webhook {WEBHOOK_ID!r} failed permanently")


def server_context() -> ssl.SSLContext:
    """TLS 1.2 or newer only."""
    context = ssl.create_default_context(purpose=ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _every_resource(resource: kopf.Resource) -> bool:
    """Kopf's catch-all selector. `kopf.EVERYTHING` would match only each group's preferred
    version (a v1alpha1 kind in a group whose preferred version is v1beta1 would get 404);
    a callable matches every version of every discovered resource."""
    return True


def make_registry(settings: settings_.Settings) -> kopf.OperatorRegistry:
    """A registry with all of modelward's handlers, bound to `settings`."""
    registry = kopf.OperatorRegistry()
    state = State(settings=settings)
    # In-cluster service account, else kubeconfig: the same login Kopf's default registry has.
    kopf.on.login(registry=registry)(kopf.login_via_client)

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Every replica must watch policies and serve admissions: no peering freeze.
        settings.peering.standalone = True
        settings.posting.level = logging.WARNING
        logging.getLogger("kopf.objects").addFilter(_quiet_denials)
        settings.persistence.finalizer = f"{GROUP}/finalizer"
        context = server_context()
        certfile, pkeyfile = await _webhook_certificates(state, context)
        server = WebhookServer(
            addr=state.settings.webhook_addr,
            port=state.settings.webhook_port,
            host=state.settings.webhook_host,
            certfile=certfile,
            pkeyfile=pkeyfile,
            context=context,
        )
        server.health = state.health
        settings.admission.server = server
        state.probe_server = probes.ProbeServer(
            state.health, addr=state.settings.metrics_addr, port=state.settings.metrics_port
        )
        await state.probe_server.start()
        state.session = admit.new_session(state.settings)
        state.admitter = admit.Admitter(
            state.settings,
            sources=admit.default_sources(),
            session=state.session,
            secrets=kube.read_secret,
            declared=state.extractors,
            records=state.records,
            recorder=state.writer,
        )
        state.health.pipeline = True

    @kopf.on.startup(registry=registry)
    async def load_policies(**_: Any) -> None:
        # The index is filled from the API before the replica reports ready, so that no
        # admission is judged without the policies that govern it; Kopf retries on failure.
        try:
            await asyncio.to_thread(_load_policies, state)
        except kubernetes.client.ApiException as e:
            raise kopf.TemporaryError(f"cannot list policies (HTTP {e.status})", delay=5) from e
        state.health.policies = True

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        if state.session is not None:
            await state.session.close()
        if state.probe_server is not None:
            await state.probe_server.stop()
        if state.tls_task is not None:
            state.tls_task.cancel()

    @kopf.on.event("", "v1", "namespaces", registry=registry)
    def namespace_event(
        event: Mapping[str, Any], name: str, labels: Mapping[str, str], **_: Any
    ) -> None:
        if state.events is None:
            state.events = events.Poster()  # Kopf's event queue is visible in object handlers
        if event.get("type") == "DELETED":
            state.namespaces.pop(name, None)
        else:
            state.namespaces[name] = dict(labels)

    async def policy_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        pol = await asyncio.to_thread(
            parse.parse_policy,
            dict(body),
            secrets=kube.read_secret,
            configmaps=kube.read_configmap,
            home_namespace=state.settings.namespace,
            trust_roots=state.trust_roots.read,
        )
        state.policies.put(pol)
        state.policy_bodies[(pol.key.kind, pol.key.namespace, pol.key.name)] = dict(body)
        update = status.status_patch(
            pol, body.get("status"), now=datetime.datetime.now(datetime.UTC)
        )
        if update is not None:
            patch.status.update(update)
        transition = events.policy_transition(pol, body.get("status"))
        if transition is not None:
            state.events = state.events or events.Poster()
            state.events.post(body, transition)
        if not pol.ready:
            logger.warning(
                "policy is not ready",
                extra={"policy": pol.name, "reason": pol.error_reason, "error": pol.error_message},
            )

    async def policy_event(event: Mapping[str, Any], body: kopf.Body, **_: Any) -> None:
        # A watch event, not an on.delete handler: those need a finalizer on every policy,
        # and a policy must stop applying the moment it is gone.
        if event.get("type") != "DELETED":
            return
        kind = str(body.get("kind"))
        namespace = body.metadata.namespace if kind == parse.NAMESPACED_KIND else None
        state.policies.remove(kind, namespace, body.metadata.name)
        state.policy_bodies.pop((kind, namespace, body.metadata.name), None)

    for plural in POLICY_PLURALS:
        for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
            on(GROUP, VERSION, plural, registry=registry)(cast(Any, policy_changed))
        kopf.on.event(GROUP, VERSION, plural, registry=registry)(cast(Any, policy_event))

    async def extractor_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        generation = int(body.metadata.get("generation") or 0)
        outcome: declared.Declaration | errors.ExtractorError
        try:
            outcome = declared.parse(dict(body))
        except errors.ExtractorError as e:
            outcome = e
            # A broken declaration must not keep an older, valid one of the same name in force
            # silently: the status says why nothing is read until it is fixed.
            state.extractors.remove(body.metadata.name)
            logger.warning(f"ModelExtractor {body.metadata.name} is not ready: {e.message}")
        else:
            state.extractors.put(outcome)
        update = extractor_status.status_patch(
            outcome, generation, body.get("status"), now=datetime.datetime.now(datetime.UTC)
        )
        if update is not None:
            patch.status.update(update)

    async def extractor_event(event: Mapping[str, Any], body: kopf.Body, **_: Any) -> None:
        if event.get("type") == "DELETED":
            state.extractors.remove(body.metadata.name)

    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(GROUP, VERSION, EXTRACTORS_PLURAL, registry=registry)(cast(Any, extractor_changed))
    kopf.on.event(GROUP, VERSION, EXTRACTORS_PLURAL, registry=registry)(cast(Any, extractor_event))

    kopf_trust.register(registry, state)
    kopf_exceptions.register(registry, state)
    kopf_records.register(registry, state)
    kopf_audit.register(registry, state)

    async def validate(
        body: kopf.Body,
        operation: str,
        dryrun: bool,
        warnings: list[str],
        **_: Any,
    ) -> None:
        if operation not in ADMITTED_OPERATIONS:
            # Kopf does not filter by operation when serving; deleting never loads a model.
            return
        group, kind = registry_.group_kind(body)
        if not registry_.supported(group, kind, state.extractors):
            # Every kind reaches this handler; only those an extractor reads can name a model.
            return
        if state.admitter is None:
            raise kopf.AdmissionError("modelward is starting; retry shortly", code=503)
        policies = state.policies.snapshot()
        try:
            ctx = _context(state)
            decision = await state.admitter.admit(
                ctx,
                policies,
                state.exceptions.snapshot(),
                credentials=_credentials(ctx),
            )
            unchecked = runtimeguard.unverified(
                ctx.obj,
                decision,
                policies,
                image=state.settings.verifier_image,
                recorded=await claimlookup.recorded(ctx, decision, policies, state.records),
            )
        except errors.InputError as e:
            raise kopf.AdmissionError(e.user_message(), code=400) from None
        except errors.UnsupportedReference as e:
            # A runtime check the policy asks for cannot be carried out: the object must not run.
            raise kopf.AdmissionError(e.user_message(), code=403) from None
        except Exception:
            # Fail closed: an internal error must never admit an unverified model.
            logger.exception("admission failed", extra={"uid": _request_uid.get()})
            raise kopf.AdmissionError(
                "modelward failed to evaluate this object and denies it (fail closed); "
                "see the operator's logs",
                code=500,
            ) from None
        warnings.extend(decision.warnings)
        if not decision.allowed:
            if not dryrun and state.events is not None:
                state.events.denied(
                    dict(body),
                    operation=operation,
                    namespace=ctx.namespace,
                    kind=ctx.kind,
                    message=decision.message,
                )
            raise kopf.AdmissionError(decision.message, code=403)
        if unchecked:
            raise kopf.AdmissionError(unchecked, code=403)

    # Every kind: the webhook's rules (the chart's) choose what is sent, and a kind declared by a
    # ModelExtractor is validated as soon as it is indexed, with no restart.
    kopf.on.validate(
        _every_resource,
        id=WEBHOOK_ID,
        operations=["CREATE", "UPDATE"],
        registry=registry,
    )(cast(Any, validate))

    async def mutate(
        body: kopf.Body,
        operation: str,
        patch: kopf.Patch,
        **_: Any,
    ) -> None:
        # Pinning never denies: the validating webhook, which runs after it, decides. Only a
        # runtime check that a policy asks for and that cannot be added denies here.
        if operation not in ADMITTED_OPERATIONS or state.admitter is None:
            return
        if not registry_.supported(*registry_.group_kind(body), state.extractors):
            return
        policies = state.policies.snapshot()
        pinning = state.settings.pin_digests
        try:
            ctx = _context(state)
            decision = await state.admitter.admit(
                ctx,
                policies,
                state.exceptions.snapshot(),
                pinning=pinning,
                credentials=_credentials(ctx),
            )
            recorded = await claimlookup.recorded(ctx, decision, policies, state.records)
        except Exception:
            logger.exception("pinning failed; left unpinned", extra={"uid": _request_uid.get()})
            return
        try:
            checks = runtimecheck.injections(
                ctx.obj,
                decision,
                policies,
                image=state.settings.verifier_image,
                recorded=recorded,
            )
        except errors.ModelwardError as e:
            # A runtime check the policy asks for cannot be added: the object must not run.
            raise kopf.AdmissionError(e.user_message(), code=403) from None
        if checks:
            patch.fns.append(
                lambda raw: runtimecheck.apply(cast(MutableMapping[str, Any], raw), checks)
            )
        changes = pin.rewrites(ctx.obj, decision) if pinning else []
        if changes:
            patch.fns.append(lambda raw: pin.apply(cast(MutableMapping[str, Any], raw), changes))
            logger.info(
                "pinned",
                extra={"uid": ctx.uid, "pinned": [".".join(map(str, c.path)) for c in changes]},
            )

    if settings.pin_digests or settings.verifier_image:
        kopf.on.mutate(
            _every_resource,
            id=PIN_WEBHOOK_ID,
            operations=["CREATE", "UPDATE"],
            registry=registry,
        )(cast(Any, mutate))

    return registry


def _credentials(ctx: context.AdmissionContext) -> pullsecrets.PullSecretProvider | None:
    return pullsecrets.for_workload(ctx)


def _context(state: State) -> context.AdmissionContext:
    """The request's context, decoded by the server from the review Kopf's handler is given,
    with its namespace's labels."""
    decoded = _request.get()
    if decoded is None:
        raise errors.InputError("no AdmissionReview was decoded for this request")
    labels = state.namespaces.get(decoded.namespace or "", {})
    return dataclasses.replace(decoded, namespace_labels=labels)


async def _webhook_certificates(
    state: State, context: ssl.SSLContext
) -> tuple[pathlib.Path | None, pathlib.Path | None]:
    """The certificate files to serve: given ones, or the operator's own (made, renewed and
    reloaded into `context` by a background task) when a TLS Secret is configured."""
    settings = state.settings
    if settings.tls_secret is None:
        return settings.tls_cert, settings.tls_key
    target = webhook_tls.Target(
        namespace=settings.namespace,
        secret=settings.tls_secret,
        service=settings.service_name,
        webhook_configurations=settings.webhook_configurations,
        extra_names=(settings.webhook_host,) if settings.webhook_host else (),
    )
    serving = webhook_tls.Serving(settings.work_dir / "tls")
    await webhook_tls.reconcile(target, serving)
    serving.context = context
    state.tls_task = asyncio.create_task(webhook_tls.keep_current(target, serving))
    return serving.cert_path, serving.key_path


def _load_policies(state: State) -> None:
    for plural in POLICY_PLURALS:
        for obj in kube.list_objects(GROUP, VERSION, plural):
            state.policies.put(
                parse.parse_policy(
                    obj, secrets=kube.read_secret, home_namespace=state.settings.namespace
                )
            )


async def run(
    settings: settings_.Settings,
    *,
    stop_flag: threading.Event | asyncio.Event | None = None,
    ready_flag: threading.Event | asyncio.Event | None = None,
) -> None:
    """Run the operator until `stop_flag` is set (or forever)."""
    await kopf.operator(
        registry=make_registry(settings),
        clusterwide=True,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
        standalone=True,
    )
