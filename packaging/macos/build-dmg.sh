#!/usr/bin/env bash
# macOS: build "Dataset Vault.app" with PyInstaller and wrap it in a .dmg
# (dist/DatasetVault-<version>.dmg, with an /Applications link for drag-to-install).
# Needs macOS with Python 3.11+; create-dmg (brew) is used when present, else hdiutil.
# Env: CODESIGN_IDENTITY (default: ad-hoc "-"), TARGET_ARCH (arm64|x86_64|universal2).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
[ "$(uname -s)" = Darwin ] || { echo "error: build-dmg.sh runs on macOS only" >&2; exit 1; }

PY=${PYTHON:-python3}
"$PY" -m pip install -q --disable-pip-version-check -e ".[package]"
VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')

rm -rf "dist/Dataset Vault.app" dist/dataset-vault
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller-macos packaging/macos/dataset-vault-macos.spec
APP="dist/Dataset Vault.app"
"$APP/Contents/MacOS/vault" --version
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/vault-app" --self-test
# Ad-hoc signature unless a Developer ID is given (notarisation is a separate, manual step).
codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$APP"
codesign --verify --deep --strict "$APP"
/usr/libexec/PlistBuddy -c 'Print :UTExportedTypeDeclarations:0:UTTypeIdentifier' "$APP/Contents/Info.plist"

DMG="dist/DatasetVault-$VERSION.dmg"
rm -f "$DMG"
if command -v create-dmg >/dev/null; then
  create-dmg --volname "Dataset Vault" --window-size 540 380 --icon-size 96 \
    --icon "Dataset Vault.app" 140 180 --app-drop-link 400 180 "$DMG" "$APP"
else
  STAGE=$(mktemp -d)
  cp -R "$APP" "$STAGE/"
  ln -s /Applications "$STAGE/Applications"
  hdiutil create -volname "Dataset Vault" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
  rm -rf "$STAGE"
fi
hdiutil verify "$DMG"
echo "$DMG ($(du -h "$DMG" | cut -f1)); app bundle $(du -sh "$APP" | cut -f1)"
# The command line: users may link it onto PATH, e.g.
#   ln -s "/Applications/Dataset Vault.app/Contents/MacOS/vault" /usr/local/bin/vault
