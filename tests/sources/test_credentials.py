"""Docker configs as registry logins, and provider composition."""

from __future__ import annotations

import base64
import json

import pytest

from modelward import errors
from modelward.sources import base, credentials


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("server", "entry", "host", "login"),
    [
        ("reg.example:5000", {"auth": b64("u:p:w")}, "reg.example:5000", ("u", "p:w")),
        ("https://reg.example/v1/", {"username": "u", "password": "p"}, "reg.example", ("u", "p")),
        ("https://index.docker.io/v1/", {"auth": b64("hub:pw")}, "docker.io", ("hub", "pw")),
        ("REG.example", {"auth": b64("u:p")}, "reg.example", ("u", "p")),
    ],
)
async def test_docker_config_logins(
    server: str, entry: dict[str, str], host: str, login: tuple[str, str]
) -> None:
    config = json.dumps({"auths": {server: entry}}).encode()
    provider = credentials.DockerConfigProvider(
        [credentials.parse_docker_config(config, "Secret ml/pull")]
    )
    found = await provider.lookup("oci", host)
    assert found is not None
    assert (found.values["username"], found.values["password"]) == login
    assert found.origin == "Secret ml/pull"
    assert await provider.lookup("s3", host) is None
    assert await provider.lookup("oci", "other.example") is None


@pytest.mark.parametrize(
    "entry", [{"auth": "%%%"}, {"auth": b64("nocolon")}, {"username": "u"}, "text"]
)
def test_unusable_entries_are_skipped(entry: object) -> None:
    config = json.dumps({"auths": {"reg.example": entry}}).encode()
    assert credentials.parse_docker_config(config, "Secret ml/pull") == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "Secret ml/pull is not JSON"),
        (b"[]", "Secret ml/pull is not a JSON object"),
        (b'{"auths": []}', "auths is not an object"),
        (b" " * (2 * 1024 * 1024), "larger than 1 MiB"),
    ],
)
def test_malformed_configs_are_named(data: bytes, message: str) -> None:
    with pytest.raises(errors.SourceError, match=message):
        credentials.parse_docker_config(data, "Secret ml/pull")


async def test_first_secret_wins_and_chains_compose() -> None:
    first = {"reg.example": base.Credentials({"username": "a", "password": "1"}, "first")}
    second = {
        "reg.example": base.Credentials({"username": "b", "password": "2"}, "second"),
        "other.example": base.Credentials({"username": "c", "password": "3"}, "second"),
    }
    chain = credentials.ChainProvider(
        credentials.DockerConfigProvider([]), credentials.DockerConfigProvider([first, second])
    )
    assert (await chain.lookup("oci", "reg.example")).origin == "first"  # type: ignore[union-attr]
    assert (await chain.lookup("oci", "other.example")).origin == "second"  # type: ignore[union-attr]
    assert await chain.lookup("oci", "third.example") is None
