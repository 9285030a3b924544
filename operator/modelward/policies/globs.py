"""Model URI globs: `*` within a path segment, `**` across segments."""

from __future__ import annotations

import functools
import re

from modelward import errors


@functools.lru_cache(maxsize=4096)
def pattern(glob: str) -> re.Pattern[str]:
    """Compile a model glob: `*` stays within a path segment, `**` crosses segments."""
    if not glob or len(glob) > 1024:
        raise errors.PolicyError("a glob must have 1 to 1024 characters", reason="InvalidGlob")
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def strip_version(uri: str) -> str:
    """The reference without its tag, digest, revision, S3 version or GCS generation:
    `oci://r/m:v1` -> `oci://r/m`, `s3://b/k?versionId=V` -> `s3://b/k`."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    if scheme in ("oci", "hf"):
        head, _, last = rest.rpartition("/")
        if "@" in last:
            last = last.partition("@")[0]
        elif scheme == "oci" and ":" in last:
            last = last.partition(":")[0]
        rest = f"{head}/{last}" if head else last
    elif scheme == "s3":
        rest = rest.partition("?versionId=")[0]
    elif scheme == "gs":
        rest = rest.partition("#")[0]
    return f"{scheme}://{rest}"


def matches(glob: str, uri: str) -> bool:
    """Whether a glob matches the URI as written or without its tag/digest."""
    regex = pattern(glob)
    return bool(regex.match(uri) or regex.match(strip_version(uri)))
