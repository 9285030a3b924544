"""Settings from the environment: the options this module's readers rely on."""

from __future__ import annotations

import pytest

from modelward import errors
from modelward.settings import Settings


@pytest.mark.parametrize(
    ("env", "pin"),
    [
        ({}, False),
        ({"MODELWARD_PIN_DIGESTS": "true"}, True),
        ({"MODELWARD_PIN_DIGESTS": "False"}, False),
    ],
)
def test_pin_digests(env: dict[str, str], pin: bool) -> None:
    assert Settings.from_env(env).pin_digests is pin


def test_pin_digests_rejects_other_values() -> None:
    with pytest.raises(errors.InputError, match="MODELWARD_PIN_DIGESTS must be true or false"):
        Settings.from_env({"MODELWARD_PIN_DIGESTS": "yes"})
