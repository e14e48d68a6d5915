#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle dist/dataset-vault/ holding BOTH executables,
# `vault` (command line) and `vault-app` (Qt window), over one shared _internal/ folder.
#
# Python: $PYTHON if set, else the active virtualenv, else ./.venv, else a fresh
# build/venv (created here). PyInstaller comes from the project's `package` extra and is
# installed into that environment when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PY=$VIRTUAL_ENV/bin/python
elif [ -x "$ROOT/.venv/bin/python" ]; then
  PY=$ROOT/.venv/bin/python
else
  PY=$ROOT/build/venv/bin/python
  [ -x "$PY" ] || python3 -m venv "$ROOT/build/venv"
fi

if ! "$PY" -c 'import importlib.metadata as m; m.version("dataset-vault"); import PyInstaller' \
    >/dev/null 2>&1; then
  echo "== installing the app and PyInstaller (.[package]) into $("$PY" -c 'import sys; print(sys.prefix)')"
  "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[package]"
fi

echo "== PyInstaller $("$PY" -m PyInstaller --version) -> dist/dataset-vault/"
rm -rf "$ROOT/dist/dataset-vault"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
  "$ROOT/packaging/pyinstaller/dataset-vault.spec"

BUNDLE=$ROOT/dist/dataset-vault
for exe in vault vault-app; do
  [ -x "$BUNDLE/$exe" ] || { echo "error: $BUNDLE/$exe was not built" >&2; exit 1; }
done
"$BUNDLE/vault" --version
echo "bundle size: $(du -sh "$BUNDLE" | cut -f1) ($(du -sb "$BUNDLE" | cut -f1) bytes) in $BUNDLE"
