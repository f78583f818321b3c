#!/usr/bin/env bash
# The two commands of the README, on a fresh Debian/Ubuntu machine (root or sudo available):
#
#   ./setup.sh play [latent play options]   set up the device runtime and play the instrument
#                                           (sound card if there is one, else a WAV file)
#   ./setup.sh test [pytest options]        set up everything (host tools included) and run all tests
#
# Both are idempotent: a second run only installs what changed.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
# A second environment with only the device extra, as a Pi gets it: the tests run `latent` from it
# to show that a device-only install plays, verifies bundles and explains host commands.
DEVICE_VENV=.venv-device
APT_PLAY=(python3-venv python3-dev gcc portaudio19-dev)
# jackd2: a dummy-driver JACK server for the real pyaudio path; fluidsynth: real instrument data;
# openssh: flashing over SSH against a loopback sshd.
APT_TEST=("${APT_PLAY[@]}" jackd2 fluidsynth openssh-server openssh-client)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup.sh: need root (or sudo) to install: $*" >&2; exit 1; fi
}

install_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "setup.sh: installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

install_python() {
    local extra=$1 venv=${2:-$VENV}
    local stamp="$venv/.installed-$extra"
    if [ ! -x "$venv/bin/python" ] || ! python_ok "$venv/bin/python"; then
        python_ok python3 || { echo "setup.sh: Python >= 3.11 is required (python3 is $(python3 -V 2>&1))" >&2; exit 1; }
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip
    fi
    # Reinstall only when the package metadata or the pins changed.
    local want
    want=$(cat pyproject.toml .ci/constraints.txt | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "setup.sh: installing the Python package with extra [$extra] into $venv"
        # The constraints pin torch to the CPU build (an unpinned torch pulls a multi-GB CUDA build).
        # pyaudio is built against Debian's PortAudio (with JACK); never a wheel that bundles its own.
        if ! PIP_NO_BINARY=pyaudio "$venv/bin/pip" install -q -e ".[$extra]" -c .ci/constraints.txt \
                > "$venv/install.log" 2>&1; then
            cat "$venv/install.log" >&2
            echo "setup.sh: pip install failed (log above, also in $venv/install.log)" >&2
            exit 1
        fi
        echo "$want" > "$stamp"
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    play)
        install_apt "${APT_PLAY[@]}"
        install_python device
        exec "$VENV/bin/latent" play --sensors sim --gesture demo "$@"
        ;;
    test)
        install_apt "${APT_TEST[@]}"
        install_python dev
        install_python device "$DEVICE_VENV"
        "$VENV/bin/ruff" check device host_tools tests
        # The device's types, protocols included (configuration in pyproject.toml).
        "$VENV/bin/mypy"
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: ./setup.sh play [latent play options] | ./setup.sh test [pytest options]" >&2
        exit 2
        ;;
esac
