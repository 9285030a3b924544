"""The webhook's certificates, made and renewed by the operator: no cert-manager needed.

The CA and serving certificate live in one Secret that every replica shares. Each replica, at
start and then hourly, reads it and renews it when it is missing, expiring or made for other
names; writes are guarded by the Secret's resourceVersion, so when replicas race one wins and
the others adopt its certificate. Each replica serves the Secret's certificate (reloaded into
the live TLS context) and patches the CA into the webhook configurations' caBundle.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import logging
import pathlib
import ssl
from typing import Any

import kubernetes

from modelward import certs, errors
from modelward.adapters import kube

logger = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 3600.0
CONFLICTS = (409, 422)  # a failed resourceVersion test, or a create that lost the race
ATTEMPTS = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Where the certificates live and whom they are for."""

    namespace: str
    secret: str
    service: str
    webhook_configurations: tuple[str, ...] = ()
    extra_names: tuple[str, ...] = ()  # the webhook's host when it is called by URL

    @property
    def names(self) -> list[str]:
        return [*certs.dns_names(self.service, self.namespace), *self.extra_names]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _from_secret(secret: Any) -> certs.Material | None:
    data = (secret.data if secret is not None else None) or {}
    try:
        parts = [base64.b64decode(data[k]) for k in ("ca.crt", "tls.crt", "tls.key")]
    except (KeyError, ValueError):
        return None
    return certs.load(*parts)


def _secret_data(material: certs.Material) -> dict[str, bytes | str]:
    return {
        "ca.crt": _b64(material.ca),
        "tls.crt": _b64(material.cert),
        "tls.key": _b64(material.key),
    }


def ensure_secret(target: Target, *, now: datetime.datetime) -> certs.Material:
    """The Secret's certificates, made or renewed first when due."""
    core = kube.core()
    for _ in range(ATTEMPTS):
        try:
            secret = core.read_namespaced_secret(target.secret, target.namespace)
        except kubernetes.client.ApiException as e:
            if e.status != 404:
                raise _api_error(f"Secret {target.namespace}/{target.secret}", e) from None
            secret = None
        material = _from_secret(secret)
        if material is not None and not certs.due(material, now=now, names=target.names):
            return material
        fresh = certs.generate(
            target.service, target.namespace, now=now, extra_names=target.extra_names
        )
        try:
            if secret is None:
                core.create_namespaced_secret(
                    target.namespace,
                    kubernetes.client.V1Secret(
                        api_version="v1",
                        kind="Secret",
                        metadata=kubernetes.client.V1ObjectMeta(
                            name=target.secret,
                            labels={"app.kubernetes.io/managed-by": "modelward"},
                        ),
                        type="kubernetes.io/tls",
                        data=_secret_data(fresh),
                    ),
                )
            else:
                version = secret.metadata.resource_version if secret.metadata else None
                core.patch_namespaced_secret(
                    target.secret,
                    target.namespace,
                    [
                        {"op": "test", "path": "/metadata/resourceVersion", "value": version},
                        {"op": "add", "path": "/data", "value": _secret_data(fresh)},
                    ],
                )
        except kubernetes.client.ApiException as e:
            if e.status in CONFLICTS:
                continue  # another replica wrote first: read and adopt its certificate
            raise _api_error(f"Secret {target.namespace}/{target.secret}", e) from None
        logger.info(
            "webhook certificate issued",
            extra={"secret": target.secret, "not_after": fresh.not_after.isoformat()},
        )
        return fresh
    raise errors.ModelwardError(
        f"Secret {target.namespace}/{target.secret} kept changing while being renewed",
        reason="CertificateConflict",
        hint="Check what else writes to it; modelward retries within the hour",
    )


def patch_ca_bundles(target: Target, ca: bytes) -> list[str]:
    """Set `ca` as the caBundle of every webhook in the validating and mutating configurations
    of those names (the mutating one exists only with pinning or runtime checks); the
    configurations patched, by kind and name."""
    api = kubernetes.client.AdmissionregistrationV1Api(kube.core().api_client)
    wanted = _b64(ca)
    kinds: tuple[tuple[str, Any, Any], ...] = (
        (
            "ValidatingWebhookConfiguration",
            api.read_validating_webhook_configuration,
            api.patch_validating_webhook_configuration,
        ),
        (
            "MutatingWebhookConfiguration",
            api.read_mutating_webhook_configuration,
            api.patch_mutating_webhook_configuration,
        ),
    )
    patched = []
    for name in target.webhook_configurations:
        for kind, read, patch in kinds:
            try:
                config = read(name)
            except kubernetes.client.ApiException as e:
                if e.status == 404:
                    if kind.startswith("Validating"):
                        logger.warning("webhook configuration not found", extra={"name": name})
                    continue
                raise _api_error(f"{kind} {name}", e) from None
            ops: list[dict[str, Any]] = [
                {"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": wanted}
                for i, hook in enumerate(config.webhooks or ())
                if hook.client_config.ca_bundle != wanted
            ]
            if not ops:
                continue
            version = config.metadata.resource_version if config.metadata else None
            test = {"op": "test", "path": "/metadata/resourceVersion", "value": version}
            try:
                patch(name, [test, *ops])
            except kubernetes.client.ApiException as e:
                if e.status in CONFLICTS:
                    continue  # changed meanwhile: the next round patches it
                raise _api_error(f"{kind} {name}", e) from None
            patched.append(f"{kind}/{name}")
    return patched


def _api_error(what: str, e: kubernetes.client.ApiException) -> errors.ModelwardError:
    return errors.ModelwardError(
        f"{what} cannot be read or written (HTTP {e.status})",
        reason="CertificateStoreError",
        hint="Check the operator's RBAC for Secrets and webhook configurations",
    )


class Serving:
    """The certificate files the webhook server loads, and the live context to reload."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.cert_path = directory / "tls.crt"
        self.key_path = directory / "tls.key"
        self.context: ssl.SSLContext | None = None
        self.current: certs.Material | None = None

    def install(self, material: certs.Material) -> bool:
        """Write the material and reload the live context; False when it is already served."""
        if self.current is not None and self.current.cert == material.cert:
            return False
        self.cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.key_path.touch(mode=0o600)
        self.key_path.write_bytes(material.key)
        self.cert_path.write_bytes(material.cert)
        if self.context is not None:
            # New handshakes use the new certificate; open connections finish on the old one.
            self.context.load_cert_chain(self.cert_path, self.key_path)
        self.current = material
        return True


async def reconcile(target: Target, serving: Serving) -> certs.Material:
    """One round: the Secret current, served, and its CA in every caBundle."""
    now = datetime.datetime.now(datetime.UTC)
    material = await asyncio.to_thread(ensure_secret, target, now=now)
    if serving.install(material):
        logger.info("serving webhook certificate", extra={"secret": target.secret})
    await asyncio.to_thread(patch_ca_bundles, target, material.ca)
    return material


async def keep_current(
    target: Target, serving: Serving, *, interval: float = CHECK_INTERVAL_SECONDS
) -> None:
    """Reconcile every `interval` seconds until cancelled; failures are logged and retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            await reconcile(target, serving)
        except errors.ModelwardError as e:
            logger.error("webhook certificate check failed", extra={"error": e.user_message()})
