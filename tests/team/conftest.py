"""Team tests with real OS accounts (alice, bob: group analysts; carol: outside).

They need root and the accounts made by ``.ci/team-setup`` (``.ci/run`` runs it). Outside
CI they are skipped with the reason; in CI (``CI`` set) a missing setup is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from team.asuser import ready

BASE = Path("/srv/vault-team-tests")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/team/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.team)


@pytest.fixture(autouse=True)
def _team_setup_present() -> None:
    why = ready()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A folder for one test, where alice, bob and carol can each make their own."""
    folder = BASE / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
