"""Parse `oci://registry/repository[:tag][@digest]` references."""

from __future__ import annotations

import dataclasses
import re

from modelward import errors

_REPO = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def identifier(self) -> str:
        """What to ask the registry for: the digest when known, else the tag."""
        return self.digest or self.tag or "latest"

    def pinned(self, digest: str) -> str:
        """The `oci://` URI pinned to `digest` (the tag dropped: the digest is what is run)."""
        return f"oci://{self.registry}/{self.repository}@{digest}"

    def __str__(self) -> str:
        out = f"oci://{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse(uri: str) -> Reference:
    """Parse an `oci://` URI; raise InputError naming what is wrong."""
    if not uri.startswith("oci://"):
        raise errors.InputError(
            f"{uri!r} is not an oci:// reference", reason="BadReference", ref=uri
        )
    rest = uri[len("oci://") :]
    registry, sep, path = rest.partition("/")
    if not sep or not registry or not path:
        raise errors.InputError(
            f"{uri!r} needs a registry and a repository (oci://REGISTRY/REPO[:TAG][@DIGEST])",
            reason="BadReference",
            ref=uri,
        )
    if not _HOST.match(registry):
        raise errors.InputError(
            f"{uri!r}: bad registry host {registry!r}", reason="BadReference", ref=uri
        )
    digest = None
    if "@" in path:
        path, _, digest = path.partition("@")
        if not _DIGEST.match(digest):
            raise errors.InputError(
                f"{uri!r}: digest must be sha256:<64 hex>", reason="BadReference", ref=uri
            )
    tag = None
    head, slash, last = path.rpartition("/")
    if ":" in last:
        last, _, tag = last.partition(":")
        if not _TAG.match(tag):
            raise errors.InputError(f"{uri!r}: bad tag {tag!r}", reason="BadReference", ref=uri)
    repository = f"{head}{slash}{last}"
    if not _REPO.match(repository):
        raise errors.InputError(
            f"{uri!r}: bad repository name {repository!r}", reason="BadReference", ref=uri
        )
    return Reference(registry=registry, repository=repository, tag=tag, digest=digest)
