"""What the policies governing a reference add to how it is fetched: egress allowances and
source endpoints, and the HTTP session that obeys them."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence

import aiohttp

from modelward import errors, netrules
from modelward import settings as settings_
from modelward.sources import egress
from modelward.structs import policy


@dataclasses.dataclass(frozen=True, slots=True)
class FetchOptions:
    allow: netrules.Allowance = dataclasses.field(default_factory=netrules.Allowance)
    hf_endpoint: str | None = None


def options(governing: Sequence[policy.Policy], settings: settings_.Settings) -> FetchOptions:
    """Allowances of every governing policy (each vouches for the hosts it names, for the
    references it governs only) and the one Hugging Face endpoint they agree on."""
    allow = netrules.Allowance()
    endpoints: dict[str, str] = {}
    for pol in governing:
        allow = allow | pol.sources.allow
        if pol.sources.hf_endpoint:
            endpoints.setdefault(pol.sources.hf_endpoint, pol.name)
    if len(endpoints) > 1:
        named = ", ".join(f"{e} (policy {p})" for e, p in sorted(endpoints.items()))
        raise errors.PolicyError(
            f"the policies governing this reference name different Hugging Face endpoints: {named}",
            reason="ConflictingEndpoints",
            hint="Give these policies the same spec.sources.hf.endpoint, or narrow their globs",
        )
    endpoint = next(iter(endpoints), None) or settings.hf_endpoint
    return FetchOptions(allow=allow, hf_endpoint=endpoint)


@contextlib.asynccontextmanager
async def session(
    shared: aiohttp.ClientSession, settings: settings_.Settings, opts: FetchOptions
) -> AsyncIterator[aiohttp.ClientSession]:
    """The shared session, or one of its own when policies allow more: pooled connections
    opened under one policy's allowances must never serve another reference."""
    if not opts.allow:
        yield shared
        return
    async with egress.session(settings.egress_rules.with_allowance(opts.allow)) as own:
        yield own
