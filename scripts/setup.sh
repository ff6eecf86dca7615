#!/usr/bin/env bash
# Install what building, running and testing Chainlift needs on Debian/Ubuntu, skipping what is
# already there: system libraries for Tauri (WebKitGTK), Xvfb and WebKitWebDriver for end-to-end
# tests, D-Bus and gnome-keyring for the keychain, npm packages, tauri-driver.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  pkg-config xvfb xauth webkit2gtk-driver dbus dbus-x11 gnome-keyring libsecret-1-dev
  libsecret-tools libdbus-1-dev imagemagick sqlite3 chromium postgresql-15 python3-venv)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
npm_install() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.chainlift-lock"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.chainlift-lock"
  fi
}
npm_install ui
npm_install tests/e2e

# kubernetes-validate (PyPI) for the deploy manifests, pinned, in a venv of its own.
KV_VENV=${CHAINLIFT_TOOLS:-$HOME/.cache/chainlift-tools}/kubernetes-validate
if [ ! -x "$KV_VENV/bin/kubernetes-validate" ]; then
  echo "setup: installing kubernetes-validate"
  python3 -m venv "$KV_VENV"
  "$KV_VENV/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate==1.37.0
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --version 2.1.0 --locked --quiet
fi
