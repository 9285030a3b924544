"""Fixtures shared by every test: real registry, HTTPS server, models, keys, Kubernetes."""

pytest_plugins = [
    "tests.fixtures.https",  # before registry, which imports it
    "tests.fixtures.registry",
    "tests.fixtures.tokenauth",
    "tests.fixtures.referrers",
    "tests.fixtures.models",
    "tests.fixtures.signing",
    "tests.fixtures.sigstore_stack",
    "tests.fixtures.tufrepo",
    "tests.fixtures.kube",
    "tests.fixtures.hub",
    "tests.fixtures.s3",
    "tests.fixtures.gcs",
]
