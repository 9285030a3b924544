"""Media types and annotations modelward reads and writes."""

from __future__ import annotations

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
TITLE = "org.opencontainers.image.title"
ORAS_UNPACK = "io.deis.oras.content.unpack"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))

# The file name of a signature shipped inside the artifact it signs.
IN_ARTIFACT_SIGNATURE = "model.sig"

# CNCF ModelPack (model-spec): the current `cncf` names and the earlier `cnai` ones.
MODELPACK_MANIFESTS = (
    "application/vnd.cncf.model.manifest.v1+json",
    "application/vnd.cnai.model.manifest.v1+json",
)
MODELPACK_CONFIGS = (
    "application/vnd.cncf.model.config.v1+json",
    "application/vnd.cnai.model.config.v1+json",
)
MODELPACK_LAYER_PREFIXES = ("application/vnd.cncf.model.", "application/vnd.cnai.model.")
MODELPACK_FILEPATHS = ("org.cncf.model.filepath", "org.cnai.model.filepath")

# Container images (KServe modelcars).
IMAGE_CONFIGS = (
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
)
IMAGE_LAYERS = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
)
