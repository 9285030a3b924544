"""Hostile keyless authorities, TrustRoots and ModelPolicyExceptions: parsing records the
problem and never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from modelward import errors
from modelward.policies import exceptions, keyless, trustroots
from tests.fixtures import hostile


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, hostile.json_values)


_keyless = st.fixed_dictionaries(
    {},
    optional={
        "issuer": _maybe(st.text(max_size=20)),
        "issuerRegExp": _maybe(st.text(max_size=20)),
        "subject": _maybe(st.text(max_size=20)),
        "subjectRegExp": _maybe(st.text(max_size=20)),
        "extensions": _maybe(
            st.dictionaries(st.sampled_from(["buildSignerURI", "x"]), hostile.json_values)
        ),
        "trustRootRef": hostile.json_values,
    },
)


def _no_root(name: str) -> bytes:
    raise errors.PolicyError(f"TrustRoot {name!r} does not exist", reason="TrustRootNotFound")


@given(_maybe(_keyless))
def test_any_keyless_authority_parses_or_is_refused(raw: Any) -> None:
    try:
        authority = keyless.parse(raw, name="a", trust_roots=_no_root)
    except errors.PolicyError as e:
        message = e.message
    else:
        assert authority.identity is not None
        return
    assert message


_trust_root_spec = st.fixed_dictionaries(
    {},
    optional={
        "sigstoreKeys": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "certificateAuthorities": hostile.json_values,
                    "tlogs": hostile.json_values,
                    "ctlogs": hostile.json_values,
                },
            )
        ),
        "trustedRootJSON": _maybe(st.text(max_size=60)),
        "configMapRef": hostile.json_values,
    },
)


@given(_maybe(_trust_root_spec))
def test_any_trust_root_parses_to_a_trust_root(spec: Any) -> None:
    root = trustroots.parse_trust_root(
        {"metadata": {"name": "r"}, "spec": spec},
        configmaps=lambda *a: b"{}",
        home_namespace="mw",
    )
    assert root.ready or root.error_message


_exception_spec = st.fixed_dictionaries(
    {},
    optional={
        "policies": _maybe(st.lists(st.text(max_size=8), max_size=3)),
        "models": _maybe(st.lists(st.text(max_size=12), max_size=3)),
        "workloads": hostile.json_values,
        "owner": _maybe(st.text(max_size=8)),
        "reason": _maybe(st.text(max_size=8)),
        "expires": _maybe(st.sampled_from(["2026-06-30T00:00:00Z", "2026-06-30", "x"])),
    },
)


@given(_maybe(_exception_spec), hostile.json_values)
def test_any_exception_parses_to_an_exception(spec: Any, metadata: Any) -> None:
    ex = exceptions.parse_exception({"metadata": metadata, "spec": spec})
    assert ex.valid or ex.error_message
