#!/usr/bin/env bash
# Build the Debian package dist/dataset-vault_<version>_<arch>.deb:
#   /opt/dataset-vault/            the PyInstaller bundle (vault + vault-app)
#   /usr/bin/vault, /usr/bin/vault-app   symlinks into it
#   desktop entry, hicolor icons, application/x-age-encrypted MIME type,
#   "Lock/Unlock with Dataset Vault" for Dolphin, Nemo, Nautilus, Thunar, PCManFM(-Qt),
#   Caja, maintainer scripts.
# Depends is computed by dpkg-shlibdeps from the bundle's ELF files.
# Env: SKIP_BUNDLE=1 reuses dist/dataset-vault; DEB_COMPRESS=xz|gzip|zstd|none (xz).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PKG=$ROOT/packaging
LINUX=$PKG/linux

[ "${SKIP_BUNDLE:-0}" = 1 ] || bash "$PKG/build-bundle.sh"
BUNDLE=$ROOT/dist/dataset-vault
[ -x "$BUNDLE/vault-app" ] || { echo "error: no bundle in $BUNDLE" >&2; exit 1; }

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/pyproject.toml" | head -n1)
ARCH=$(dpkg --print-architecture)
APP_SVG=$ROOT/vault_app/gui/resources/icons/app.svg
MIME_SVG=$ROOT/vault_app/gui/resources/icons/file-locked.svg
for f in "$APP_SVG" "$MIME_SVG"; do
  [ -f "$f" ] || { echo "error: icon $f is missing" >&2; exit 1; }
done
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in "${VIRTUAL_ENV:-/nonexistent}/bin/python" "$ROOT/.venv/bin/python" \
                   "$ROOT/build/venv/bin/python"; do
    [ -x "$candidate" ] && { PY=$candidate; break; }
  done
fi

STAGE=$ROOT/build/deb
DEST=$STAGE/root
rm -rf "$STAGE" && mkdir -p "$DEST/DEBIAN"
echo "== staging $DEST"

# The bundle, and the two commands on PATH.
mkdir -p "$DEST/opt" "$DEST/usr/bin"
cp -a "$BUNDLE" "$DEST/opt/dataset-vault"
ln -s /opt/dataset-vault/vault "$DEST/usr/bin/vault"
ln -s /opt/dataset-vault/vault-app "$DEST/usr/bin/vault-app"

# Desktop entry, MIME type, file-manager actions.
install -D -m 644 "$LINUX/dataset-vault.desktop" "$DEST/usr/share/applications/dataset-vault.desktop"
install -D -m 644 "$LINUX/dataset-vault-mime.xml" "$DEST/usr/share/mime/packages/dataset-vault.xml"
for action in lock unlock; do
  install -D -m 644 "$LINUX/kio/dataset-vault-$action.desktop" \
    "$DEST/usr/share/kio/servicemenus/dataset-vault-$action.desktop"
  install -D -m 644 "$LINUX/nemo/dataset-vault-$action.nemo_action" \
    "$DEST/usr/share/nemo/actions/dataset-vault-$action.nemo_action"
done
install -D -m 755 "$LINUX/nemo/dataset-vault-applies.sh" \
  "$DEST/usr/share/nemo/actions/dataset-vault-applies.sh"
for action in lock unlock; do   # FileManager-Actions: PCManFM, PCManFM-Qt, Caja
  install -D -m 644 "$LINUX/file-manager/dataset-vault-$action.desktop" \
    "$DEST/usr/share/file-manager/actions/dataset-vault-$action.desktop"
done
install -D -m 644 "$LINUX/nautilus/dataset_vault.py" \
  "$DEST/usr/share/nautilus-python/extensions/dataset_vault.py"
install -D -m 644 "$LINUX/thunar/dataset_vault_thunar.py" \
  "$DEST/usr/share/thunarx-python/extensions/dataset_vault_thunar.py"
install -D -m 644 "$LINUX/debian/copyright" "$DEST/usr/share/doc/dataset-vault/copyright"

# Icons: scalable SVG plus PNG sizes rendered from it with Qt (no rsvg-convert needed).
HICOLOR=$DEST/usr/share/icons/hicolor
install -D -m 644 "$APP_SVG" "$HICOLOR/scalable/apps/dataset-vault.svg"
install -D -m 644 "$MIME_SVG" "$HICOLOR/scalable/mimetypes/application-x-age-encrypted.svg"
PNG_SIZES=(16 24 32 48 64 128 256)
RENDER=$STAGE/png
if [ -n "$PY" ] && "$PY" -c 'import PySide6.QtSvg' 2>/dev/null; then
  QT_QPA_PLATFORM=offscreen "$PY" "$PKG/render_icons.py" "$APP_SVG" "$RENDER/apps" dataset-vault "${PNG_SIZES[@]}" >/dev/null
  QT_QPA_PLATFORM=offscreen "$PY" "$PKG/render_icons.py" "$MIME_SVG" "$RENDER/mimetypes" application-x-age-encrypted "${PNG_SIZES[@]}" >/dev/null
elif command -v rsvg-convert >/dev/null; then
  for s in "${PNG_SIZES[@]}"; do
    mkdir -p "$RENDER/apps/${s}x$s" "$RENDER/mimetypes/${s}x$s"
    rsvg-convert -w "$s" -h "$s" -o "$RENDER/apps/${s}x$s/dataset-vault.png" "$APP_SVG"
    rsvg-convert -w "$s" -h "$s" -o "$RENDER/mimetypes/${s}x$s/application-x-age-encrypted.png" "$MIME_SVG"
  done
else
  echo "error: need PySide6 (set PYTHON) or rsvg-convert to render PNG icons" >&2; exit 1
fi
for s in "${PNG_SIZES[@]}"; do
  install -D -m 644 "$RENDER/apps/${s}x$s/dataset-vault.png" "$HICOLOR/${s}x$s/apps/dataset-vault.png"
  install -D -m 644 "$RENDER/mimetypes/${s}x$s/application-x-age-encrypted.png" \
    "$HICOLOR/${s}x$s/mimetypes/application-x-age-encrypted.png"
done

# Depends: dpkg-shlibdeps reads the NEEDED entries of every ELF file in the bundle and
# maps the libraries found outside it to versioned Debian packages (the bundle carries
# Qt, ICU and Python; libssl, libX11, libdbus... come from Debian and get its security
# updates). A library that cannot be found at all fails the build here, not at run time.
echo "== computing Depends with dpkg-shlibdeps"
BUNDLE_DEST=$DEST/opt/dataset-vault
mapfile -d '' ELF_FILES < <(find "$BUNDLE_DEST" -type f \( -name '*.so' -o -name '*.so.*' \
  -o -path "$BUNDLE_DEST/vault" -o -path "$BUNDLE_DEST/vault-app" \) -print0)
mkdir -p "$STAGE/debian"
printf 'Source: dataset-vault\n\nPackage: dataset-vault\nArchitecture: any\n' > "$STAGE/debian/control"
SHLIBS=$(cd "$STAGE" && dpkg-shlibdeps -O --warnings=0 --ignore-missing-info \
  -l"$BUNDLE_DEST/_internal" -l"$BUNDLE_DEST/_internal/PySide6/Qt/lib" "${ELF_FILES[@]}")
DEPENDS=${SHLIBS#shlibs:Depends=}
[ -n "$DEPENDS" ] && [ "$DEPENDS" != "$SHLIBS" ] || { echo "error: dpkg-shlibdeps gave: $SHLIBS" >&2; exit 1; }
echo "Depends: $DEPENDS"

# Control files; ownership comes from --root-owner-group, permissions are normalised.
INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$DEST" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" \
    -e "s/@DEPENDS@/${DEPENDS//\//\\/}/" "$LINUX/debian/control.in" > "$DEST/DEBIAN/control"
install -m 755 "$LINUX/debian/postinst" "$LINUX/debian/postrm" "$DEST/DEBIAN/"
find "$DEST" -type d -exec chmod 755 {} +
chmod -R go-w "$DEST"
(cd "$DEST" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
  | xargs -0 md5sum) > "$DEST/DEBIAN/md5sums"
chmod 644 "$DEST/DEBIAN/md5sums" "$DEST/DEBIAN/control"

DEB=$ROOT/dist/dataset-vault_${VERSION}_${ARCH}.deb
echo "== dpkg-deb --build -> $DEB"
dpkg-deb --build --root-owner-group -Z"${DEB_COMPRESS:-xz}" "$DEST" "$DEB" >/dev/null
echo "bundle size: $(du -sh "$BUNDLE" | cut -f1) installed, package $(du -h "$DEB" | cut -f1)"
echo "$DEB"
