"""safe_fs: nothing inside a vault is reached through a link, a FIFO never hangs a read,
reads are bounded, and a published file is the one written (a swap is caught)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vault_app.core.atomic import TEMP_SUFFIX
from vault_app.core.errors import FileOperationError
from vault_app.core.safe_fs import UnsafeEntryError, open_folder, open_root, parts_of


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    (root / ".vault").mkdir(parents=True)
    (root / ".vault" / "members.json").write_text("{}")
    return root


def test_a_symlinked_file_is_refused_and_its_target_untouched(vault: Path,
                                                              tmp_path: Path) -> None:
    victim = tmp_path / "victim.parquet"
    victim.write_bytes(b"PAR1" * 1000)
    os.symlink(victim, vault / ".vault" / "audit.log")
    with open_folder(vault, [".vault"]) as meta:
        with pytest.raises(UnsafeEntryError, match="symbolic link"):
            meta.append("audit.log", b"record\n", 0o600)
        with pytest.raises(UnsafeEntryError, match="symbolic link"):
            meta.read("audit.log", 1 << 20)
    assert victim.read_bytes() == b"PAR1" * 1000


def test_a_symlinked_folder_is_refused(vault: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.symlink(home, vault / "reports")
    with pytest.raises(UnsafeEntryError, match="symbolic link"):
        open_folder(vault, ["reports"])
    with pytest.raises(UnsafeEntryError):
        open_folder(vault, ["reports"], create=True)
    assert list(home.iterdir()) == []


def test_a_symlinked_metadata_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "vault"
    root.mkdir()
    os.symlink(elsewhere, root / ".vault")
    with pytest.raises(UnsafeEntryError):
        open_folder(root, [".vault"])


def test_the_root_itself_may_be_reached_through_a_link(vault: Path, tmp_path: Path) -> None:
    link = tmp_path / "my-vault"
    os.symlink(vault, link)
    with open_folder(link, [".vault"]) as meta:
        assert meta.read("members.json", 100) == b"{}"


def test_a_fifo_is_refused_at_once_instead_of_hanging(vault: Path) -> None:
    os.mkfifo(vault / ".vault" / "audit.head")
    with open_folder(vault, [".vault"]) as meta:
        with pytest.raises(UnsafeEntryError, match="not a regular file"):
            meta.read("audit.head", 1 << 20)
        with pytest.raises(UnsafeEntryError, match="not a regular file"):
            meta.append("audit.head", b"x", 0o600)


def test_reads_are_bounded_and_missing_files_are_none(vault: Path) -> None:
    (vault / ".vault" / "big.json").write_bytes(b" " * 2000)
    with open_folder(vault, [".vault"]) as meta:
        with pytest.raises(FileOperationError, match="too large"):
            meta.read("big.json", 1000)
        assert meta.read("absent.json", 1000) is None
        assert meta.read("members.json", 2) == b"{}"


def test_replace_publishes_with_the_given_mode_and_leaves_no_temp(vault: Path) -> None:
    with open_folder(vault, [".vault"]) as meta, meta.replace("members.json", 0o640) as out:
        out.write(b'{"v": 2}')
    target = vault / ".vault" / "members.json"
    assert target.read_bytes() == b'{"v": 2}'
    assert target.stat().st_mode & 0o777 == 0o640
    assert [n for n in os.listdir(vault / ".vault") if n.endswith(TEMP_SUFFIX)] == []


def test_replace_without_overwrite_refuses_an_existing_name(vault: Path) -> None:
    with (open_folder(vault, [".vault"]) as meta,
          pytest.raises(FileOperationError, match="already exists"),
          meta.replace("members.json", 0o600, overwrite=False) as out):
        out.write(b"new")
    assert (vault / ".vault" / "members.json").read_bytes() == b"{}"
    assert [n for n in os.listdir(vault / ".vault") if n.endswith(TEMP_SUFFIX)] == []


def test_a_temp_file_swapped_before_publishing_cannot_publish_a_decoy(vault: Path) -> None:
    """The publish race: a folder writer renames the temp away and puts a decoy at its
    name. The temp lives in a private folder and is renamed from that folder's descriptor:
    moving the folder away does not change what is published."""
    folder = vault / ".vault"
    with (open_folder(vault, [".vault"]) as meta,
          meta.replace("members.json", 0o600) as out):
        out.write(b"the real content")
        out.flush()
        (box,) = [n for n in os.listdir(folder) if n.endswith(TEMP_SUFFIX)]
        os.rename(folder / box, folder / "stolen")
        (folder / box).mkdir()
        (folder / box / "members.json").write_bytes(b"decoy")
    assert (folder / "members.json").read_bytes() == b"the real content"
    assert (folder / box / "members.json").read_bytes() == b"decoy"   # theirs, untouched


def test_a_decoy_put_at_the_name_right_after_publishing_is_reported(vault: Path) -> None:
    """If the published name is replaced between the rename and the check, the write
    says so instead of reporting success for what is not there."""
    from vault_app.core import safe_fs

    folder = vault / ".vault"
    real_rename = os.rename

    def rename_then_swap(src: object, dst: object, **kw: object) -> None:
        real_rename(src, dst, **kw)  # type: ignore[arg-type]
        (folder / "members.json").unlink()
        (folder / "members.json").write_bytes(b"decoy")

    with (open_folder(vault, [".vault"]) as meta,
          pytest.MonkeyPatch.context() as patch):
        patch.setattr(safe_fs.os, "rename", rename_then_swap)
        with (pytest.raises(FileOperationError, match="replaced by someone else"),
              meta.replace("members.json", 0o600) as out):
            out.write(b"the real content")


def test_a_failure_inside_replace_leaves_the_old_file(vault: Path) -> None:
    with (open_folder(vault, [".vault"]) as meta, pytest.raises(RuntimeError),
          meta.replace("members.json", 0o600) as out):
        out.write(b"half")
        raise RuntimeError("disk on fire")
    assert (vault / ".vault" / "members.json").read_bytes() == b"{}"
    assert [n for n in os.listdir(vault / ".vault") if n.endswith(TEMP_SUFFIX)] == []


def test_parts_of_never_resolves_links_below_the_root(vault: Path, tmp_path: Path) -> None:
    assert parts_of(vault, vault / "a" / "b.age") == ("a", "b.age")
    with pytest.raises(FileOperationError, match="not inside the vault"):
        parts_of(vault, tmp_path / "outside.age")
    link = tmp_path / "alias"
    os.symlink(vault, link)
    assert parts_of(link, vault / "x.age") == ("x.age",)


def test_open_root_of_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileOperationError):
        open_root(tmp_path / "f")
