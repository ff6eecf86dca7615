#!/usr/bin/env bash
# Run a command with an unlocked gnome-keyring (Secret Service) on the current D-Bus session.
# Use inside `dbus-run-session -- scripts/with-keyring.sh CMD...`. Keyrings live in a scratch
# XDG_DATA_HOME so tests never touch the user's own keychain.
set -euo pipefail
scratch=$(mktemp -d)
chmod 700 "$scratch"
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run" XDG_CONFIG_HOME="$scratch/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'chainlift-test' | gnome-keyring-daemon --daemonize --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
