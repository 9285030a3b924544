"""The test Kubernetes API (`tests/fixtures/kube.py`): the emulator's fixes, and a real Kopf
operator with an HTTPS admission webhook running against it."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import pathlib
import sys
import threading
import time
import types
from collections.abc import Coroutine, Iterator
from typing import Any

import aiohttp
import kopf
import kubernetes.client
import kubernetes.config
import kubernetes.watch
import pytest

from modelward.settings import NoMatchAction, Settings
from tests.fixtures import kube

MW = "modelward.io/v1alpha1"


def policy(name: str, namespace: str | None = "default", **spec: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace} if namespace else {"name": name}
    kind = "ModelPolicy" if namespace else "ClusterModelPolicy"
    return {"apiVersion": MW, "kind": kind, "metadata": meta, "spec": spec}


# --- the emulator --------------------------------------------------------------------------


def test_discovery_and_namespaces_look_like_a_cluster(kube_api: kube.KubeApi) -> None:
    core = kube_api.request("GET", "/api/v1")
    assert core["groupVersion"] == "v1"
    assert {"namespaces", "pods", "secrets", "events"} <= {r["name"] for r in core["resources"]}
    policies = kube_api.request("GET", "/apis/modelward.io/v1alpha1")["resources"]
    cluster = next(r for r in policies if r["name"] == "clustermodelpolicies")
    assert (cluster["kind"], cluster["namespaced"]) == ("ClusterModelPolicy", False)
    assert {"list", "watch", "patch"} <= set(cluster["verbs"])
    assert "clustermodelpolicies/status" in {r["name"] for r in policies}

    names = [n["metadata"]["name"] for n in kube_api.request("GET", "/api/v1/namespaces")["items"]]
    assert names == ["default", "kube-system"]
    assert kube_api.get("v1", "Namespace", "default") is not None


def test_official_client_create_returns_the_stamped_object(kube_api: kube.KubeApi) -> None:
    core = kubernetes.client.CoreV1Api(kube_api.client)
    body = kubernetes.client.V1ConfigMap(
        metadata=kubernetes.client.V1ObjectMeta(name="cm"), data={"a": "b"}
    )
    created = core.create_namespaced_config_map("default", body)
    assert isinstance(created, kubernetes.client.V1ConfigMap)
    meta = created.metadata
    assert meta is not None
    assert meta.namespace == "default"
    assert meta.uid
    assert meta.resource_version
    assert meta.creation_timestamp is not None
    read = core.read_namespaced_config_map("cm", "default")
    assert read.metadata is not None
    assert read.metadata.uid == meta.uid


def test_custom_objects_take_namespace_and_generation(kube_api: kube.KubeApi) -> None:
    custom = kubernetes.client.CustomObjectsApi(kube_api.client)
    body = {"apiVersion": MW, "kind": "ModelPolicy", "metadata": {"name": "p"}, "spec": {}}
    created: Any = custom.create_namespaced_custom_object(
        "modelward.io", "v1alpha1", "team-a", "modelpolicies", body
    )
    assert created["metadata"]["namespace"] == "team-a"
    assert created["metadata"]["generation"] == 1

    stray = policy("c", namespace=None)
    stray["metadata"]["namespace"] = "ignored"
    cluster = kube_api.create(stray)
    assert "namespace" not in cluster["metadata"]
    assert kube_api.get(MW, "ClusterModelPolicy", "c") == cluster


def test_generate_name_makes_distinct_names(kube_api: kube.KubeApi) -> None:
    meta = {"generateName": "kopf-event-", "namespace": "default"}
    first = kube_api.create({"apiVersion": "v1", "kind": "Event", "metadata": meta})
    second = kube_api.create({"apiVersion": "v1", "kind": "Event", "metadata": meta})
    assert first["metadata"]["name"].startswith("kopf-event-")
    assert first["metadata"]["name"] != second["metadata"]["name"]


def test_patches_bump_versions_like_an_api_server(kube_api: kube.KubeApi) -> None:
    created = kube_api.create(policy("p", mode="a"))
    rv0 = int(created["metadata"]["resourceVersion"])

    spec = kube_api.patch(MW, "ModelPolicy", "p", {"spec": {"mode": "b"}}, namespace="default")
    assert int(spec["metadata"]["resourceVersion"]) > rv0
    assert spec["metadata"]["generation"] == 2

    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    patched = kube_api.patch(MW, "ModelPolicy", "p", status, namespace="default", sub="status")
    assert int(patched["metadata"]["resourceVersion"]) > int(spec["metadata"]["resourceVersion"])
    assert patched["metadata"]["generation"] == 2  # status is not spec

    again = kube_api.patch(MW, "ModelPolicy", "p", {"spec": {"mode": "b"}}, namespace="default")
    assert again["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]


def test_stale_patches_are_refused_with_kubernetes_codes(kube_api: kube.KubeApi) -> None:
    created = kube_api.create(policy("p"))
    rv = created["metadata"]["resourceVersion"]
    kube_api.patch(
        MW, "ModelPolicy", "p", {"metadata": {"labels": {"a": "b"}}}, namespace="default"
    )

    stale_merge = {"metadata": {"resourceVersion": rv, "labels": {"a": "c"}}}
    with pytest.raises(kubernetes.client.ApiException) as conflict:
        kube_api.patch(MW, "ModelPolicy", "p", stale_merge, namespace="default")
    assert conflict.value.status == 409

    # Kopf's finalizer patch: a `test` of the resourceVersion it last saw.
    stale_json = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x"]},
    ]
    with pytest.raises(kubernetes.client.ApiException) as invalid:
        kube_api.patch(MW, "ModelPolicy", "p", stale_json, namespace="default")
    assert invalid.value.status == 422

    fresh = kube_api.get(MW, "ModelPolicy", "p", "default")
    assert fresh is not None
    stale_json[0]["value"] = fresh["metadata"]["resourceVersion"]
    done = kube_api.patch(MW, "ModelPolicy", "p", stale_json, namespace="default")
    assert done["metadata"]["finalizers"] == ["x"]
    assert kube_api.server_errors == []


def test_delete_waits_for_finalizers(kube_api: kube.KubeApi) -> None:
    created = kube_api.create({**policy("p"), "metadata": {"name": "p", "namespace": "default",
                                                            "finalizers": ["x"]}})  # fmt: skip
    kube_api.delete(MW, "ModelPolicy", "p", "default")
    marked = kube_api.get(MW, "ModelPolicy", "p", "default")
    assert marked is not None
    assert marked["metadata"]["deletionTimestamp"]
    assert int(marked["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    kube_api.patch(MW, "ModelPolicy", "p", {"metadata": {"finalizers": None}}, namespace="default")
    assert kube_api.get(MW, "ModelPolicy", "p", "default") is None


async def _watch_lines(url: str, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        async with asyncio.timeout(timeout):
            while len(events) < count:
                line = await response.content.readline()
                if line.strip():
                    events.append(json.loads(line))
    return events


async def test_watch_resumes_from_the_listed_resource_version(kube_api: kube.KubeApi) -> None:
    await asyncio.to_thread(kube_api.create, policy("old"))
    path = kube.kind_of(MW, "ModelPolicy").path()
    listing = await asyncio.to_thread(kube_api.request, "GET", path)
    assert [o["metadata"]["name"] for o in listing["items"]] == ["old"]
    await asyncio.to_thread(kube_api.create, policy("new"))

    since = listing["metadata"]["resourceVersion"]
    resumed = await _watch_lines(f"{kube_api.url}{path}?watch=true&resourceVersion={since}", 1)
    assert [e["object"]["metadata"]["name"] for e in resumed] == ["new"]

    fresh = await _watch_lines(f"{kube_api.url}{path}?watch=true", 2)
    assert sorted((e["type"], e["object"]["metadata"]["name"]) for e in fresh) == [
        ("ADDED", "new"),
        ("ADDED", "old"),
    ]


def test_official_client_watch_ends_at_its_timeout(kube_api: kube.KubeApi) -> None:
    core = kubernetes.client.CoreV1Api(kube_api.client)
    started = time.monotonic()
    watch = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
    events = list(watch.stream(core.list_namespace, timeout_seconds=1))  # type: ignore[no-untyped-call]
    assert time.monotonic() - started < 5
    assert {e["object"].metadata.name for e in events} == {"default", "kube-system"}


def test_kubeconfig_serves_the_default_client(kube_api: kube.KubeApi) -> None:
    kubernetes.config.load_config()  # type: ignore[no-untyped-call]
    namespace = kubernetes.client.CoreV1Api().read_namespace("default")
    assert namespace.metadata is not None
    assert namespace.metadata.uid
    assert kubernetes.client.Configuration.get_default_copy().host == kube_api.url


# --- a real Kopf operator against it --------------------------------------------------------


def tiny_registry(mw: Settings, handled: collections.Counter[str]) -> kopf.OperatorRegistry:
    """A minimal operator: one create handler and one validating webhook on ModelPolicies."""
    registry = kopf.OperatorRegistry()
    # Kopf's default login, made explicit: only Kopf's default registry adds it by itself.
    kopf.on.login(registry=registry)(kopf.login_via_client)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.peering.standalone = True
        settings.process.ultimate_exiting_timeout = None  # never SIGKILL the test process
        settings.admission.managed = "modelward.test"
        settings.admission.server = kopf.WebhookServer(
            addr=mw.webhook_addr,
            port=mw.webhook_port,
            host=mw.webhook_host,
            certfile=mw.tls_cert,
            pkeyfile=mw.tls_key,
        )

    @kopf.on.create("modelward.io", "v1alpha1", "modelpolicies", registry=registry)
    def created(name: str, body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        handled[name] += 1
        kopf.info(body, reason="Handled", message="by the test")  # an Event, named by the API
        patch.status["conditions"] = [{"type": "Ready", "status": "True"}]

    @kopf.on.validate("modelward.io", "v1alpha1", "modelpolicies", id="models", registry=registry)
    def validate(spec: kopf.Spec, **_: Any) -> None:
        if spec.get("deny"):
            raise kopf.AdmissionError("denied by the test", code=403)

    return registry


def tiny_operator(handled: collections.Counter[str]) -> kube.RunOperator:
    """`tiny_registry` run the way modelward's `kopf_app.run` runs its registry."""

    def run(
        settings: Settings, *, stop_flag: threading.Event, ready_flag: threading.Event
    ) -> Coroutine[Any, Any, None]:
        return kopf.operator(
            registry=tiny_registry(settings, handled),
            clusterwide=True,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )

    return run


@pytest.fixture
def handled() -> collections.Counter[str]:
    return collections.Counter()


@pytest.fixture
def tiny(
    kube_api: kube.KubeApi, tmp_path: pathlib.Path, handled: collections.Counter[str]
) -> Iterator[kube.OperatorHandle]:
    kube_api.create(policy("before"))  # listed at start-up, not only watched
    settings, ca_path = kube.webhook_settings(tmp_path / "operator")
    with kube.start_operator(tiny_operator(handled), settings, kube_api, ca_path) as handle:
        yield handle


async def test_create_handler_runs_once_per_object(
    tiny: kube.OperatorHandle, handled: collections.Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    await asyncio.to_thread(tiny.api.create, policy("after"))
    for name in ("before", "after"):
        await tiny.wait_policy_ready(name, namespace="default")

    # Kopf is done once its last-handled state and its Events are stored; then give replays
    # (a watch resent from the start) a chance to run a handler again.
    def settled() -> bool:
        objs = tiny.api.request("GET", kube.kind_of(MW, "ModelPolicy").path("default"))["items"]
        last = "kopf.zalando.org/last-handled-configuration"
        stored = sum(last in (o["metadata"].get("annotations") or {}) for o in objs)
        return stored == 2 and len(events()) == 2

    def events() -> list[dict[str, Any]]:
        found = tiny.api.request("GET", kube.kind_of("v1", "Event").path("default"))["items"]
        return [e for e in found if e.get("reason") == "Handled"]

    async with asyncio.timeout(5):
        while not await asyncio.to_thread(settled):
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)

    assert handled == {"before": 1, "after": 1}
    assert sorted(e["involvedObject"]["name"] for e in events()) == ["after", "before"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert tiny.api.server_errors == []


async def test_validating_webhook_answers_admission_reviews(tiny: kube.OperatorHandle) -> None:
    assert tiny.webhook_url.startswith("https://127.0.0.1:")

    allowed = await tiny.review(policy("ok"))
    assert allowed["apiVersion"] == "admission.k8s.io/v1"
    assert allowed["kind"] == "AdmissionReview"
    assert allowed["response"]["allowed"] is True
    assert allowed["response"]["uid"]

    denied = await tiny.review(policy("no", deny=True), operation="UPDATE", old=policy("no"))
    assert denied["response"]["allowed"] is False
    assert denied["response"]["status"] == {"code": 403, "message": "denied by the test"}

    status, _ = await tiny.post(b"{not json")
    assert status == 400

    # `settings.admission.managed`: Kopf registers its webhook in the emulated API.
    config = await asyncio.to_thread(
        tiny.api.get, "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
        "modelward.test",
    )  # fmt: skip
    assert config is not None
    assert config["kind"] == "ValidatingWebhookConfiguration"
    assert [w["clientConfig"]["url"] for w in config["webhooks"]] == [tiny.webhook_url + "/models"]


def test_dry_runs_store_nothing(kube_api: kube.KubeApi) -> None:
    kind = kube.kind_of(MW, "ModelPolicy")
    would = kube_api.request("POST", kind.path("default") + "?dryRun=All", policy("p", mode="a"))
    assert would["metadata"]["uid"]
    assert kube_api.get(MW, "ModelPolicy", "p", "default") is None

    stored = kube_api.create(policy("p", mode="a"))
    merge = "application/merge-patch+json"
    patch = {"spec": {"mode": "b"}}
    would = kube_api.request("PATCH", kind.path("default", "p") + "?dryRun=All", patch, merge)
    assert would["spec"]["mode"] == "b"
    kube_api.request("DELETE", kind.path("default", "p") + "?dryRun=All")
    assert kube_api.get(MW, "ModelPolicy", "p", "default") == stored


def test_kinds_registered_later_are_served(kube_api: kube.KubeApi) -> None:
    service = kube.Kind("", "v1", "services", "Service")
    kube_api.in_emulator(lambda emulator: kube.register_resources(emulator, (service,)))
    created = kube_api.create(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}}
    )
    assert created["metadata"]["namespace"] == "default"
    assert kube_api.get("v1", "Service", "s", "default") == created


def test_put_is_refused_plainly(kube_api: kube.KubeApi) -> None:
    kube_api.create(policy("p"))
    path = kube.kind_of(MW, "ModelPolicy").path("default", "p")
    with pytest.raises(kubernetes.client.ApiException) as refused:
        kube_api.request("PUT", path, policy("p"))
    assert refused.value.status == 405


@pytest.mark.parametrize(
    ("operation", "has_object", "has_old", "options"),
    [
        ("CREATE", True, False, "CreateOptions"),
        ("UPDATE", True, True, "UpdateOptions"),
        ("DELETE", False, True, "DeleteOptions"),
    ],
)
def test_reviews_are_shaped_like_kube_apiservers(
    operation: str, has_object: bool, has_old: bool, options: str
) -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    old = obj if operation == "UPDATE" else None
    review = kube.build_review(obj, operation=operation, old=old, namespace="team-a")
    request = review["request"]
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert request["kind"] == request["requestKind"] == {
        "group": "apps", "version": "v1", "kind": "Deployment"
    }  # fmt: skip
    assert request["resource"] == request["requestResource"] == {
        "group": "apps", "version": "v1", "resource": "deployments"
    }  # fmt: skip
    assert (request["name"], request["namespace"], request["operation"]) == (
        "d",
        "team-a",
        operation,
    )
    assert (request["object"] is not None, request["oldObject"] is not None) == (
        has_object,
        has_old,
    )
    assert request["options"]["kind"] == options
    if has_object:  # the API server fills the namespace in before admission
        assert request["object"]["metadata"]["namespace"] == "team-a"


def test_a_failed_start_fails_fast_with_kopfs_error(
    kube_api: kube.KubeApi, tmp_path: pathlib.Path
) -> None:
    def run(
        settings: Settings, *, stop_flag: threading.Event, ready_flag: threading.Event
    ) -> Coroutine[Any, Any, None]:
        registry = kopf.OperatorRegistry()

        @kopf.on.startup(registry=registry)
        def refuse(**_: Any) -> None:
            raise kopf.PermanentError("refused by the test")

        return kopf.operator(
            registry=registry, clusterwide=True, stop_flag=stop_flag, ready_flag=ready_flag
        )

    settings, ca_path = kube.webhook_settings(tmp_path)
    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match="refused by the test"),
        kube.start_operator(run, settings, kube_api, ca_path),
    ):
        pass
    assert time.monotonic() - started < kube.START_TIMEOUT / 2


# --- the `operator` fixture, with the tiny operator standing in for modelward's kopf_app ----


@pytest.fixture
def operator_settings(
    monkeypatch: pytest.MonkeyPatch, handled: collections.Counter[str]
) -> dict[str, Any]:
    import modelward.adapters

    fake: Any = types.ModuleType("modelward.adapters.kopf_app")

    async def run(
        settings: Settings, *, stop_flag: threading.Event, ready_flag: threading.Event
    ) -> None:
        await kopf.operator(
            registry=fake.make_registry(settings),
            clusterwide=True,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )

    # Like modelward's: the registry brings Kopf's default login (kubeconfig here).
    fake.make_registry = lambda settings: tiny_registry(settings, handled)
    fake.run = run
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setattr(modelward.adapters, "kopf_app", fake, raising=False)
    return {"timeout_seconds": 3.0}


@pytest.mark.parametrize("operator", [{"no_match": NoMatchAction.WARN}], indirect=True)
async def test_operator_fixture_runs_kopf_app(operator: kube.OperatorHandle) -> None:
    assert operator.settings.timeout_seconds == 3.0
    assert operator.settings.no_match is NoMatchAction.WARN
    assert operator.webhook_url == f"https://127.0.0.1:{operator.settings.webhook_port}"
    await asyncio.to_thread(operator.api.create, policy("p"))
    ready = await operator.wait_policy_ready("p", namespace="default")
    assert ready["metadata"]["name"] == "p"
    answer = await operator.review(policy("p"))
    assert answer["response"]["allowed"] is True
