"""A TrustRoot's trusted_root.json from a mirrored TUF repository, verified by python-tuf.

Only the operator calls this (on create, update and a timer, from a worker thread); admission
reads the loaded root from memory. The mirror URL is user input, so every connection, redirect
included, obeys the egress rules. Verified metadata is cached per source under the work dir:
a later refresh only walks what changed (root rotations, new timestamps). A failed refresh
keeps the last root verified from the same source (also across restarts, from the cache) and
says so (TrustRootRefreshFailed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import logging
import pathlib
import threading
import time
from collections.abc import Callable, Iterator

import aiohttp
from tuf.api import exceptions as tuf_errors
from tuf.ngclient.config import UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.updater import Updater

from modelward import errors, netrules
from modelward.policies.tufspec import TufSource
from modelward.sources import egress, https
from modelward.trust import roots

logger = logging.getLogger(__name__)

# TUF's largest default metadata bound (targets metadata); trusted roots are far smaller.
MAX_FETCH_BYTES = 5_000_000
FETCH_TIMEOUT_SECONDS = 30.0
# All fetches of one refresh together (root rotations, metadata, target).
REFRESH_BUDGET_SECONDS = 120.0
MAX_REDIRECTS = 5
# The last root verified from a source, kept next to its TUF metadata for a restart.
LAST_GOOD = "last-good.json"
# Bounds on the work one refresh can be made to do by a hostile mirror.
CONFIG = UpdaterConfig(max_root_rotations=32, max_delegations=8)


class GuardedFetcher(FetcherInterface):
    """python-tuf's network layer, through modelward's egress-guarded HTTP session. One
    fetcher serves one refresh: its fetches share one time budget."""

    def __init__(
        self,
        rules: netrules.Rules,
        *,
        ca_bundle: pathlib.Path | None = None,
        timeout: float = FETCH_TIMEOUT_SECONDS,
        budget: float = REFRESH_BUDGET_SECONDS,
    ) -> None:
        self._rules, self._ca_bundle, self._timeout = rules, ca_bundle, timeout
        self._budget = budget
        self._deadline = time.monotonic() + budget

    def _fetch(self, url: str) -> Iterator[bytes]:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise tuf_errors.SlowRetrievalError(
                f"the refresh took over {self._budget}s before fetching {url}"
            )
        # Updater is synchronous and runs in a worker thread: each fetch gets its own loop.
        return iter([asyncio.run(self._get(url, min(self._timeout, left)))])

    async def _get(self, url: str, seconds: float) -> bytes:
        try:
            async with asyncio.timeout(seconds), egress.session(self._rules) as session:
                response = await session.get(
                    url, ssl=https.ssl_context(self._ca_bundle), max_redirects=MAX_REDIRECTS
                )
                async with response:
                    if response.status != 200:
                        raise tuf_errors.DownloadHTTPError(
                            f"{url} answered HTTP {response.status}", response.status
                        )
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        body += chunk
                        if len(body) > MAX_FETCH_BYTES:
                            raise tuf_errors.DownloadLengthMismatchError(
                                f"{url} is larger than {MAX_FETCH_BYTES} bytes"
                            )
                    return bytes(body)
        except TimeoutError:
            raise tuf_errors.SlowRetrievalError(f"{url} took over {seconds:.1f}s") from None
        except aiohttp.ClientError as e:
            raise tuf_errors.DownloadError(f"{url} cannot be fetched ({e})") from None


@dataclasses.dataclass(frozen=True, slots=True)
class Verified:
    """A trusted root verified from one TUF source."""

    fingerprint: str
    mirror: str
    raw: bytes
    root_version: int
    verified_at: datetime.datetime

    def describe(self) -> str:
        at = self.verified_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"verified from TUF mirror {self.mirror} (root version {self.root_version}) at {at}"


def fetch(source: TufSource, cache: pathlib.Path, fetcher: FetcherInterface) -> tuple[bytes, int]:
    """The verified target bytes and the trusted TUF root version; raises TUF's errors."""
    metadata_dir, targets_dir = cache / "metadata", cache / "targets"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    targets_dir.mkdir(parents=True, exist_ok=True)
    # The cache only ever holds metadata TUF verified from this source's initial root.
    bootstrap = None if (metadata_dir / "root.json").is_file() else source.root
    updater = Updater(
        str(metadata_dir),
        source.mirror,
        str(targets_dir),
        source.mirror + "targets/",
        fetcher=fetcher,
        config=CONFIG,
        bootstrap=bootstrap,
    )
    updater.refresh()
    info = updater.get_targetinfo(source.target)
    if info is None:
        raise errors.PolicyError(
            f"the TUF repository at {source.mirror} has no target {source.target!r}",
            reason="TUFTargetNotFound",
        )
    if info.length > roots.MAX_ROOT_BYTES:
        raise errors.PolicyError(
            f"target {source.target!r} is {info.length} bytes, over {roots.MAX_ROOT_BYTES}",
            reason="InvalidTrustRoot",
        )
    path = updater.find_cached_target(info) or updater.download_target(info)
    raw = pathlib.Path(path).read_bytes()
    version = json.loads((metadata_dir / "root.json").read_bytes())["signed"]["version"]
    return raw, int(version)


def _save(path: pathlib.Path, verified: Verified) -> None:
    document = {
        "rootVersion": verified.root_version,
        "verifiedAt": verified.verified_at.isoformat(),
        "trustedRoot": verified.raw.decode(),
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document))
    temporary.replace(path)  # atomic: a crash never leaves half a root behind


def _restore(path: pathlib.Path, source: TufSource) -> Verified | None:
    """The last good root saved under this source's cache, if any and still usable."""
    try:
        if path.stat().st_size > 2 * roots.MAX_ROOT_BYTES:
            return None
        document = json.loads(path.read_text())
        raw = str(document["trustedRoot"]).encode()
        roots.check(raw, where="the cached TUF target")
        at = datetime.datetime.fromisoformat(str(document["verifiedAt"]))
        return Verified(source.fingerprint, source.mirror, raw, int(document["rootVersion"]), at)
    except (OSError, ValueError, KeyError, TypeError, errors.PolicyError):
        return None


def reason_for(e: Exception) -> str:
    """A CamelCase reason naming TUF's error class (TUFExpiredMetadata, ...)."""
    if isinstance(e, tuf_errors.DownloadError):
        return "TUFMirrorUnavailable"
    return "TUF" + type(e).__name__.removesuffix("Error")


class TufMirrors:
    """Loads TrustRoots from TUF mirrors, remembers the last good root of each, and when each
    was last tried (for the refresh timer)."""

    def __init__(
        self,
        cache_dir: pathlib.Path,
        rules: netrules.Rules,
        *,
        ca_bundle: pathlib.Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        fetch_timeout: float = FETCH_TIMEOUT_SECONDS,
        budget: float = REFRESH_BUDGET_SECONDS,
    ) -> None:
        self._cache_dir, self._rules, self._ca_bundle = cache_dir, rules, ca_bundle
        self._clock, self._fetch_timeout, self._budget = clock, fetch_timeout, budget
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._good: dict[str, Verified] = {}
        self._tried: dict[str, float] = {}

    def due(self, name: str, refresh_seconds: float) -> bool:
        """Whether TrustRoot `name` was last tried at least `refresh_seconds` ago."""
        tried = self._tried.get(name)
        return tried is None or self._clock() - tried >= refresh_seconds

    def last_good(self, name: str) -> Verified | None:
        return self._good.get(name)

    def forget(self, name: str) -> None:
        """Drop what is remembered of a deleted TrustRoot (its disk cache stays for a re-create)."""
        self._good.pop(name, None)
        self._tried.pop(name, None)

    def load(self, name: str, source: TufSource) -> bytes:
        """The trusted_root.json verified from `source`; TrustRootRefreshFailed otherwise,
        carrying the last root verified from the same source, if any."""
        self._tried[name] = self._clock()
        with self._guard:
            lock = self._locks.setdefault(source.fingerprint, threading.Lock())
        where = f"TrustRoot {name!r}"
        fetcher = GuardedFetcher(
            self._rules, ca_bundle=self._ca_bundle, timeout=self._fetch_timeout, budget=self._budget
        )
        with lock:
            cache = self._cache_dir / source.fingerprint[:32]
            try:
                raw, version = fetch(source, cache, fetcher)
                roots.check(raw, where=where)
            except errors.PolicyError as e:
                raise self._failed(name, source, e.reason, e.message) from None
            except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
                cause = e.__cause__
                if isinstance(cause, errors.EgressDenied):
                    raise self._failed(name, source, cause.reason, cause.message) from None
                detail = f"{where}: TUF mirror {source.mirror}: {type(e).__name__}: {e}"
                raise self._failed(name, source, reason_for(e), detail) from None
            except (OSError, ValueError, KeyError, TypeError) as e:
                detail = f"{where}: the TUF cache cannot be used ({type(e).__name__}: {e})"
                raise self._failed(name, source, "TUFCacheUnusable", detail) from None
            now = datetime.datetime.now(datetime.UTC)
            verified = Verified(source.fingerprint, source.mirror, raw, version, now)
            self._good[name] = verified
            _save(cache / LAST_GOOD, verified)
        logger.info(
            "trust root refreshed",
            extra={"trust_root": name, "mirror": source.mirror, "tuf_root_version": version},
        )
        return raw

    def _failed(
        self, name: str, source: TufSource, reason: str, message: str
    ) -> errors.TrustRootRefreshFailed:
        good = self._good.get(name)
        if good is None or good.fingerprint != source.fingerprint:
            # After a restart: the root this process's predecessor verified from this source.
            good = _restore(self._cache_dir / source.fingerprint[:32] / LAST_GOOD, source)
            if good is None:
                return errors.TrustRootRefreshFailed(message, reason=reason)
            self._good[name] = good
        logger.warning(
            "trust root refresh failed; the last good root stays in use",
            extra={"trust_root": name, "reason": reason},
        )
        return errors.TrustRootRefreshFailed(
            f"{message}; the last good trusted root, {good.describe()}, "
            "stays in use until a refresh succeeds",
            reason=reason,
            last_good=good.raw,
        )
