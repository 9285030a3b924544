"""Hash the files inside tar layers (ModelPack tars, ORAS directories, modelcar images).

Nothing is extracted: each regular file is hashed from the stream. Layers apply in order, as
a container runtime stacks them: later files replace earlier ones and OCI whiteouts delete
them. Only files under the layer's root count (`models/` in a modelcar). Inside it, links,
devices and escaping names are refused, since the runtime would follow or create them; the
number of files and the unpacked bytes are bounded by the settings' limits.
"""

from __future__ import annotations

import hashlib
import pathlib
import posixpath
import tarfile

from modelward import errors, settings
from modelward.oci import layout
from modelward.sources import paths

READ_BYTES = 4 * 1024 * 1024
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class Tree:
    """The model's files as the stacked layers leave them: POSIX path -> sha256 hex.

    With `dest`, each file is also written there (and removed again by a whiteout), so that
    what is on disk is what was hashed.
    """

    def __init__(
        self, limits: settings.Limits, ref: str | None, dest: pathlib.Path | None = None
    ) -> None:
        self.files: dict[str, str] = {}
        self.dest = dest
        self._limits = limits
        self._ref = ref
        self._bytes = 0

    def claim(self, path: str, *, replace: bool) -> None:
        """Raise when `path` is already in the model and may not be replaced."""
        if path in self.files and not replace:
            raise errors.ResolveError(
                f"file {path!r} is in two layers of the artifact",
                reason="MalformedManifest",
                ref=self._ref,
            )

    def add(self, path: str, digest: str, size: int, *, replace: bool) -> None:
        self.claim(path, replace=replace)
        self.files[path] = digest
        if len(self.files) > self._limits.max_files:
            raise errors.ArtifactLimitError(
                f"the model has more than {self._limits.max_files} files", ref=self._ref
            )
        self.count(size)

    def count(self, size: int) -> None:
        self._bytes += size
        if self._bytes > self._limits.max_unpacked_bytes:
            raise errors.ArtifactLimitError(
                f"the model unpacks to more than {self._limits.max_unpacked_bytes} bytes",
                ref=self._ref,
            )

    def remove(self, path: str, *, keep: set[str]) -> None:
        """Delete `path` and everything under it (`""` is the root), except `keep`."""
        prefix = f"{path}/" if path else ""
        for name in [n for n in self.files if n == path or n.startswith(prefix)]:
            if name not in keep:
                del self.files[name]
                if self.dest is not None:
                    (self.dest / name).unlink(missing_ok=True)


def apply(tar_path: pathlib.Path, layer: layout.Layer, tree: Tree, ref: str | None) -> None:
    """Stack one tar layer onto `tree`."""
    if layer.archive is layout.Archive.ZSTD:
        raise errors.UnsupportedReference(
            f"layer {layer.digest} is zstd-compressed, which modelward cannot read",
            ref=ref,
            hint="Push the model's layers as tar or tar+gzip",
        )
    overlay = layer.root != ""
    added: set[str] = set()
    try:
        gzip = layer.archive is layout.Archive.GZIP
        with tarfile.open(tar_path, "r|gz") if gzip else tarfile.open(tar_path, "r|") as tar:
            for member in tar:
                if layer.root and _hides_root(member.name, layer.root):
                    tree.remove("", keep=added)
                    continue
                rel = _under(member.name, layer.root)
                if rel is None:
                    continue
                _member(tar, member, rel, tree, added, overlay=overlay, ref=ref)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise errors.FetchError(
            f"layer {layer.digest} is not a readable tar ({e})", reason="BadLayer", ref=ref
        ) from None


def _member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    rel: str,
    tree: Tree,
    added: set[str],
    *,
    overlay: bool,
    ref: str | None,
) -> None:
    parent, base = posixpath.split(rel)
    if base == OPAQUE:
        # An opaque directory hides what lower layers had in it.
        tree.remove(parent, keep=added)
        return
    if base.startswith(WHITEOUT):
        tree.remove(posixpath.join(parent, base[len(WHITEOUT) :]), keep=added)
        return
    if member.isdir():
        return
    if rel == "" or member.issym() or member.islnk():
        what = "the model directory" if rel == "" else f"{rel!r}"
        raise errors.FetchError(
            f"{what} is a link or not a directory in the layer; links are not verified",
            reason="UnsafePath",
            ref=ref,
        )
    if not member.isfile():
        raise errors.FetchError(
            f"{rel!r} is a device or special file", reason="UnsafePath", ref=ref
        )
    path = str(paths.safe_relative(rel, ref=ref))
    tree.claim(path, replace=overlay)
    target = tree.dest / path if tree.dest is not None else None
    tree.add(path, _hash(tar, member, target, ref), member.size, replace=overlay)
    added.add(path)


def _hash(
    tar: tarfile.TarFile, member: tarfile.TarInfo, target: pathlib.Path | None, ref: str | None
) -> str:
    src = tar.extractfile(member)
    if src is None:
        raise errors.FetchError(f"{member.name!r} cannot be read", reason="BadLayer", ref=ref)
    hasher = hashlib.sha256()
    read = 0
    out = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # a later layer replaces the file
        out = target.open("xb")
    try:
        while chunk := src.read(READ_BYTES):
            read += len(chunk)
            if read > member.size:
                break
            hasher.update(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    if read != member.size:
        raise errors.FetchError(
            f"{member.name!r} has {read} bytes, its header says {member.size}",
            reason="BadLayer",
            ref=ref,
        )
    return hasher.hexdigest()


def _hides_root(name: str, root: str) -> bool:
    """A whiteout of the root directory itself, or an opaque marker at the top."""
    name = _normalise(name)
    return name in (f"{WHITEOUT}{root}", OPAQUE)


def _normalise(name: str) -> str:
    name = name.lstrip("/")
    while name.startswith("./"):
        name = name[2:].lstrip("/")
    return name.rstrip("/")


def _under(name: str, root: str) -> str | None:
    """`name` relative to `root` ("" for the root itself), or None when outside it.

    Names are normalised as a runtime would ("./models/x", "/models/x" -> "models/x"), but
    `..` is kept so that safe_relative refuses it.
    """
    name = _normalise(name)
    if name in ("", "."):
        return None
    if not root:
        return name
    if name == root:
        return ""
    prefix = f"{root}/"
    return name[len(prefix) :] if name.startswith(prefix) else None
