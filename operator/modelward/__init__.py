"""modelward: admission control for ML models in Kubernetes.

A request flows through one pipeline, shared by the webhook, the CLI and the demo:

    decode      AdmissionReview -> AdmissionContext (typed, validated once)
    extract     object -> model references, each with its field path (`extractors/`)
    storage     KServe's storage-key form -> the URI its storage-config Secret implies
    match       reference x policies -> the policies that govern it
    resolve     reference -> immutable digest (OCI manifest digest, content sha256)
    fetch       digest -> files streamed to a bounded work dir, hashed while downloading
    verify      signature bundle x authorities -> the signed manifest; compare to the hashes
    decide      evidence x policies -> Decision (pure)
    respond     Decision -> AdmissionResponse (allowed, message, warnings)

`extractors/` holds one module per project whose kinds name models (pods, KServe, Seldon,
KubeAI) and the ModelExtractor declarations for any other kind, `sources/` one module per
URI scheme, `trust/` one per signing technology, `policies/` parses policy CRDs into
`structs.policy` and indexes them, `record/` caches verdicts and logs decisions, and
`adapters/` is the only code that knows Kopf or argparse.
"""

__version__ = "0.1.0"
