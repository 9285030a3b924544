from __future__ import annotations

import pathlib

import pytest

from tests.scanners import corpus


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    directory = tmp_path_factory.mktemp("corpus")
    corpus.build(directory)
    return directory
