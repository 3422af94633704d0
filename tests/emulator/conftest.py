"""Fixtures shared by the emulator tests."""

from __future__ import annotations

import pytest

from fixtures.tokens import ensure_signing_key


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh RSA signing key for the test issuer, one per test module."""
    path = str(tmp_path_factory.mktemp("issuer") / "key.pem")
    ensure_signing_key(path)
    return path
