"""Conflict copies as each sync tool names them are recognized; ordinary names are not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core.sync_conflicts import conflict_name


@pytest.mark.parametrize(("name", "tool", "original", "strong"), [
    ("data.csv.sync-conflict-20261130-101010-ABCDEFG.age", "Syncthing", "data.csv.age", True),
    ("data.csv.sync-conflict-20261130-101010.age", "Syncthing", "data.csv.age", True),
    ("members.sync-conflict-20261130-101010-Q2WE3RT.json", "Syncthing", "members.json", True),
    ("audit.sync-conflict-20261130-101010-Q2WE3RT.log", "Syncthing", "audit.log", True),
    ("data.csv (alice's conflicted copy 2026-11-30).age", "Dropbox or Nextcloud",
     "data.csv.age", True),
    ("data.csv (alice's conflicted copy 2026-11-30 (1)).age", "Dropbox or Nextcloud",
     "data.csv.age", True),
    ("data.csv (Case Conflict).age", "Dropbox or Nextcloud", "data.csv.age", True),
    ("data.csv (conflicted copy 2026-11-30 101010).age", "Dropbox or Nextcloud",
     "data.csv.age", True),
    ("members (conflicted copy 2026-11-30 101010).json", "Dropbox or Nextcloud",
     "members.json", True),
    ("data.csv_conflict-20261130-101010.age", "ownCloud", "data.csv.age", True),
    ("data.csv.Conflict.age", "Resilio", "data.csv.age", True),
    ("data.csv.Conflict2.age", "Resilio", "data.csv.age", True),
    ("data.csv-DESKTOP-4F3K2LQ.age", "OneDrive", "data.csv.age", True),
    ("data.csv-LAPTOP-AB12CD-1.age", "OneDrive", "data.csv.age", True),
    ("data.csv (1).age", "Google Drive", "data.csv.age", False),
    ("data.csv 2.age", "iCloud", "data.csv.age", False),
    ("audit 2.log", "iCloud", "audit.log", False),
])
def test_each_tools_conflict_copy_is_recognized(name: str, tool: str, original: str,
                                                 strong: bool) -> None:
    found = conflict_name(name)
    assert found is not None
    assert (found.tool, found.original, found.strong) == (tool, original, strong)


@pytest.mark.parametrize("name", [
    "data.csv.age", "patients_2026.csv.age", "report 2026.csv.age", "Q 3.csv.age",
    "conflict.csv.age", "sync-conflict-notes.txt.age", "members.json", "audit.log",
    "my-DESKTOP.csv.age", "results (final).parquet.age", "(1).age",
])
def test_ordinary_names_are_not_conflict_copies(name: str) -> None:
    assert conflict_name(name) is None


@given(st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s))
def test_any_name_is_handled_and_the_original_is_shorter(name: str) -> None:
    found = conflict_name(name)
    if found is not None:
        assert len(found.original) < len(name)
