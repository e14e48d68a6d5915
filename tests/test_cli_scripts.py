"""The command line in scripts: folders, standard input and output, exit statuses, JSON
errors, -q, the progress bar, --help, the man page and shell completion."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import pytest
from vault_support import REAL_KEYRING, TEST_PASSPHRASE, run_vault

from vault_app.cli import build_parser, exit_codes, output
from vault_app.cli.help_texts import EXAMPLES, subcommands
from vault_app.cli.manual import man_page
from vault_app.core.errors import ErrorKind

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    secret = tmp_path / "passphrase"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    values = {"VAULT_PASSPHRASE_FILE": str(secret), "VAULT_USER": "alice",
              "VAULT_DIR": str(tmp_path / "vault")}
    if not REAL_KEYRING:
        values["VAULT_KEY_FILE"] = "1"
    assert run_vault("init", str(tmp_path / "vault"), "--recovery-out",
                     str(tmp_path / "rec.txt"), env=values).returncode == 0
    return values


def ok(*args: str, env: dict[str, str], input: bytes | None = None,
       cwd: Path | None = None) -> bytes:
    result = run_vault(*args, env=env, input=input, cwd=cwd)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if ".vault" not in p.parts)


def test_lock_and_unlock_folders_keep_their_tree(tmp_path: Path, env: dict[str, str]) -> None:
    study = tmp_path / "study"
    (study / "sub").mkdir(parents=True)
    (study / "a.csv").write_bytes(b"a,1\n")
    (study / "sub" / "b.csv").write_bytes(b"b,2\n")
    (study / ".hidden").write_bytes(b"h")
    ok("lock", str(study), env=env)
    vault = tmp_path / "vault"
    assert tree(vault) == ["study", "study/a.csv.age", "study/sub", "study/sub/b.csv.age"]
    assert tree(study) == [".hidden"]  # the plaintext went; emptied folders too
    ok("unlock", str(vault / "study"), "-o", str(tmp_path / "out"), env=env)
    assert (tmp_path / "out" / "study" / "sub" / "b.csv").read_bytes() == b"b,2\n"
    assert tree(tmp_path / "out") == ["study", "study/a.csv", "study/sub", "study/sub/b.csv"]
    inside = vault / "raw"
    inside.mkdir()
    (inside / "c.csv").write_bytes(b"c\n")
    ok("lock", str(inside), "--keep", env=env)  # in the vault: each file beside itself
    assert tree(inside) == ["c.csv", "c.csv.age"]
    again = run_vault("lock", str(inside), "--keep", env=env)  # c.csv.age is taken
    assert again.returncode == exit_codes.BY_KIND[ErrorKind.EXISTS], again.stderr


def test_standard_input_and_output(tmp_path: Path, env: dict[str, str]) -> None:
    data = b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(200_000))
    info = json.loads(ok("lock", "-", "--name", "exports/squares.csv", "--json", env=env,
                         input=data))
    locked = tmp_path / "vault" / "exports" / "squares.csv.age"
    assert info[0]["path"] == str(locked) and info[0]["size"] == len(data)
    assert ok("cat", str(locked), env=env) == data
    assert ok("unlock", str(locked), "-o", "-", env=env, cwd=tmp_path) == data
    assert not (tmp_path / "-").exists()  # once a folder named "-" in the vault
    copy = ok("export", str(locked), "--to", _recipient(tmp_path), "-o", "-", env=env)
    assert copy.startswith(b"age-encryption.org/v1\n")
    bad = run_vault("lock", "-", env=env, input=b"x")
    assert bad.returncode == exit_codes.USAGE and b"--name" in bad.stderr


def _recipient(tmp_path: Path) -> str:
    result = run_vault("keygen", "-o", str(tmp_path / "outsider.txt"))
    return result.stderr.decode().split("Public key: ")[1].strip()


@pytest.mark.parametrize(("args", "kind"), [
    (["cat", "{vault}/nowhere.csv.age"], ErrorKind.NOT_FOUND),
    (["cat", "{tmp}/outside.csv.age"], ErrorKind.USAGE),  # not in the vault
    (["cat", "{vault}/secret.csv.age", "--user", "bob"], ErrorKind.NO_ACCESS),
    (["unlock", "{vault}/secret.csv.age", "-o", "{tmp}/o", "--vault", "{tmp}"],
     ErrorKind.NOT_A_VAULT),
    (["lock", "{vault}/secret.csv.age"], ErrorKind.USAGE),
])
def test_exit_status_and_json_error_by_kind(tmp_path: Path, env: dict[str, str],
                                            args: list[str], kind: ErrorKind) -> None:
    vault = tmp_path / "vault"
    ok("lock", "-", "--name", "secret.csv", env=env, input=b"s\n")
    asked = json.loads(ok("join", str(vault), "--user", "bob", "--json", env=env))
    ok("user", "approve", "bob", "--fingerprint", asked["fingerprint"], env=env)
    argv = [a.format(vault=vault, tmp=tmp_path) for a in args]
    result = run_vault(*argv, env=env)
    assert result.returncode == exit_codes.BY_KIND[kind]
    assert result.stderr.startswith(b"error: ")
    as_json = run_vault(*argv, "--json", env=env)
    assert as_json.returncode == result.returncode and as_json.stdout == b""
    error = json.loads(as_json.stderr)
    assert error["kind"] == kind.value and error["exit_code"] == result.returncode
    assert error["message"] and error["hint"]


def test_quiet_prints_only_data_and_errors(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "q.csv").write_bytes(b"q\n")
    result = run_vault("lock", str(tmp_path / "q.csv"), "-q", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert ok("cat", str(tmp_path / "vault" / "q.csv.age"), "-q", env=env) == b"q\n"
    (tmp_path / "r.csv").write_bytes(b"r\n")
    as_json = json.loads(ok("lock", str(tmp_path / "r.csv"), "-q", "--json", env=env))
    assert as_json[0]["name"] == "r.csv"  # -q does not silence what was asked for


def test_the_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    args = argparse.Namespace(quiet=False, json=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal: no bar
    assert output.progress_bar(args, "big.csv", 100) is None
    screen = io.StringIO()
    screen.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stderr", screen)
    assert output.progress_bar(argparse.Namespace(quiet=True, json=False), "x", 1) is None
    assert output.progress_bar(argparse.Namespace(quiet=False, json=True), "x", 1) is None
    bar = output.progress_bar(args, "big.csv", 4 << 20)
    assert bar is not None
    bar(1 << 20)
    bar(4 << 20)  # the last update is always drawn
    bar.done()
    drawn = screen.getvalue()
    assert "big.csv [######------------------]  25%  1.0 MiB/4.0 MiB" in drawn
    assert "100%  4.0 MiB/4.0 MiB" in drawn and drawn.endswith("\r\x1b[2K")


def test_every_error_kind_has_a_documented_exit_status() -> None:
    assert set(exit_codes.BY_KIND) == set(ErrorKind)
    codes = [code for code, _ in exit_codes.rows()]
    assert len(codes) == len(set(codes)) and 0 in codes
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, words in exit_codes.rows():
        assert f"| {code} | {words} |" in readme, f"README lacks exit status {code}"


def test_help_has_a_text_for_every_option_and_examples_for_every_verb() -> None:
    parser = build_parser()
    bare = [f"{verb} {action.dest}" for verb, sub in subcommands(parser)
            for action in sub._actions if not action.help]
    assert bare == []
    verbs = [verb for verb, _ in subcommands(parser)]
    assert set(verbs) == set(EXAMPLES), set(verbs) ^ set(EXAMPLES)
    for verb, sub in subcommands(parser):
        assert "examples:\n  vault " in sub.format_help(), verb


def test_man_page_and_completion_come_from_the_parser() -> None:
    page = man_page(build_parser())
    assert page.startswith(".TH VAULT 1")
    for verb, _ in subcommands(build_parser()):
        assert f'.SS "vault {verb}"' in page
    assert re.search(r"\.TP\n\\fB4\\fR\nno access", page)
    assert "VAULT_PASSPHRASE_FILE" in page
    result = run_vault("completion", "bash")
    assert result.returncode == 0 and b"cat" in result.stdout and b"--replace" in result.stdout
    assert run_vault("man").stdout.decode() == page


def test_outside_any_vault_the_files_named_say_which_vault(tmp_path: Path,
                                                          env: dict[str, str]) -> None:
    """Run from a folder that is in no vault, with neither --vault nor VAULT_DIR: the vault
    is the one the named files are in; files in two vaults (or one outside) are refused."""
    away = {k: v for k, v in env.items() if k != "VAULT_DIR"}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    vault = tmp_path / "vault"
    (vault / "a.csv").write_bytes(b"a,1\n")
    ok("lock", str(vault / "a.csv"), env=away, cwd=outside)
    assert (vault / "a.csv.age").is_file() and not (vault / "a.csv").exists()
    assert ok("cat", str(vault / "a.csv.age"), env=away, cwd=outside) == b"a,1\n"
    ok("unlock", str(vault / "a.csv.age"), "-o", str(outside), env=away, cwd=outside)
    assert (outside / "a.csv").read_bytes() == b"a,1\n"
    ok("verify", str(vault / "a.csv.age"), env=away, cwd=outside)

    stray = outside / "b.csv"
    stray.write_bytes(b"b\n")
    refused = run_vault("lock", str(vault / "x.csv"), str(stray), env=away, cwd=outside)
    assert refused.returncode == exit_codes.for_kind(ErrorKind.NOT_A_VAULT, "lock")
    assert b"different vaults" in refused.stderr and b"Traceback" not in refused.stderr
    nowhere = run_vault("lock", str(stray), env=away, cwd=outside)
    assert b"no vault here" in nowhere.stderr and stray.exists()
