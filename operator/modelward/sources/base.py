"""The protocol every source implements, and the context it is given."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import aiohttp

from modelward import settings as settings_
from modelward.structs import access, refs


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """A signature bundle found next to a model, and where it was found."""

    origin: str
    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    """Secret material for one source, from a Secret the workload is allowed to use.

    `values` holds the Secret's keys (e.g. AWS_ACCESS_KEY_ID, HF_TOKEN, username/password,
    .dockerconfigjson); `origin` names the Secret for messages and logs, never the values.
    """

    values: Mapping[str, str]
    origin: str

    def __repr__(self) -> str:
        return f"Credentials(origin={self.origin!r}, keys={sorted(self.values)!r})"


class CredentialProvider(Protocol):
    """Finds credentials for a host, only among those the requesting workload may use."""

    async def lookup(self, scheme: str, host: str) -> Credentials | None: ...


# Where `Artifact.files()` leaves the model's files, under the work directory, at the paths
# it returns: scanning reads them there until the reference is decided.
MODEL_DIR = "model"


@dataclasses.dataclass(frozen=True, slots=True)
class FetchContext:
    """What a source may use: one HTTP session (under the SSRF rules), the settings, a private
    work directory, the credentials of the workload under admission (never another
    namespace's), and the endpoints the governing policies chose: Hugging Face (None: the
    settings' endpoint) and object stores (absent: the settings' endpoint)."""

    session: aiohttp.ClientSession
    settings: settings_.Settings
    workdir: pathlib.Path
    credentials: CredentialProvider | None = None
    hf_endpoint: str | None = None
    # Object-store endpoints chosen with the credentials, from the same policy (`spec.sources`).
    endpoints: Mapping[str, access.Endpoint] = dataclasses.field(default_factory=dict)

    @property
    def model_dir(self) -> pathlib.Path:
        """Where files() puts the model's files (see MODEL_DIR)."""
        return self.workdir / MODEL_DIR


class Artifact(Protocol):
    """A model resolved to an immutable digest."""

    @property
    def pinned(self) -> refs.PinnedRef: ...

    async def signatures(self) -> list[Signature]:
        """Every signature bundle published for this artifact (possibly none)."""
        ...

    async def files(self) -> Mapping[str, str]:
        """Download the model into `FetchContext.model_dir`; map each file's POSIX path
        (relative to it) to its sha256 hex digest."""
        ...


@runtime_checkable
class DigestBound(Protocol):
    """An artifact whose files are content-addressed by the runtime that fetches them."""

    async def bound_files(self) -> Mapping[str, str]:
        """Like `files`, but each file stored as one blob (ORAS, ModelPack raw layers) is known
        by that blob's digest, which the runtime checks what it pulls against: not downloaded."""
        ...


@runtime_checkable
class HashOnly(Protocol):
    """An artifact that can hash its files as they download without keeping them."""

    async def hashed_files(self) -> Mapping[str, str]:
        """Like `files`, but every byte is only hashed as it streams: nothing is left in
        `FetchContext.model_dir`, for policies that read no content (no scanner)."""
        ...


class Source(Protocol):
    """Resolves references of some schemes to artifacts."""

    schemes: tuple[str, ...]

    async def open(self, ref: refs.ModelRef, ctx: FetchContext) -> Artifact:
        """Resolve `ref` to an immutable digest; raise a SourceError when it cannot be."""
        ...
