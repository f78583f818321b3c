#!/usr/bin/env bash
# Puts the instrument runtime on a Raspberry Pi (Raspberry Pi OS bookworm, 64-bit), as root:
#
#   sudo ./deploy/provision.sh            from a checkout of this repository on the Pi
#
# Enables I2C at 400 kHz, installs the Debian packages the runtime needs, creates the `latent`
# user, installs the package with its `device` extra into /opt/latent-instrument/venv, puts the
# pin map in /etc/latent-instrument/ and starts the service. Safe to run again after an update.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "provision.sh: run as root (sudo)" >&2; exit 1; }

CONFIG_TXT=/boot/firmware/config.txt
[ -f "$CONFIG_TXT" ] || CONFIG_TXT=/boot/config.txt
ensure_line() { grep -qxF "$1" "$CONFIG_TXT" || echo "$1" >> "$CONFIG_TXT"; }
if [ -f "$CONFIG_TXT" ]; then
    ensure_line "dtparam=i2c_arm=on"
    ensure_line "dtparam=i2c_arm_baudrate=400000"   # a sensor poll takes ~1 ms at 400 kHz, ~4 ms at 100 kHz
    ensure_line "dtoverlay=dwc2"                     # USB gadget mode: the laptop flashes over USB serial
fi
for module in i2c-dev dwc2 g_serial; do
    grep -qx "$module" /etc/modules 2>/dev/null || echo "$module" >> /etc/modules
done

apt-get update -qq
# python3-rtmidi: MIDI's port backend from Debian, which the venv (system site) uses where pip has
# no python-rtmidi wheel for this Pi; with a wheel, pip's newer one wins inside the venv.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-venv python3-dev gcc portaudio19-dev python3-lgpio python3-rtmidi i2c-tools alsa-utils

id latent >/dev/null 2>&1 || useradd --system --create-home --home-dir /var/lib/latent \
    --groups audio,i2c,gpio latent

PREFIX=/opt/latent-instrument
python3 -m venv --system-site-packages "$PREFIX/venv"   # system site: Debian's lgpio for gpiozero
"$PREFIX/venv/bin/pip" install -q --upgrade pip
"$PREFIX/venv/bin/pip" install -q ".[device]"
install -d "$PREFIX/models" /etc/latent-instrument
install -m 0644 models/*.bundle "$PREFIX/models/"
[ -f /etc/latent-instrument/pins.toml ] || install -m 0644 hardware/pins.toml /etc/latent-instrument/pins.toml
[ -f /etc/default/latent-instrument ] || install -m 0644 deploy/latent-instrument.default /etc/default/latent-instrument
install -m 0644 deploy/latent-instrument.service deploy/latent-serve.service /etc/systemd/system/

# The model store, and the artists' public keys it trusts (put `latent keys new` .pub files in
# deploy/trusted-keys/ before provisioning, or run `latent models trust KEY.pub` later).
install -d -o latent -g latent /var/lib/latent/models
for key in deploy/trusted-keys/*.pub; do
    [ -e "$key" ] || continue
    sudo -u latent "$PREFIX/venv/bin/latent" models trust "$key" --store /var/lib/latent/models
done

systemctl daemon-reload
systemctl enable --now latent-instrument.service
systemctl enable latent-serve.service   # starts when the USB gadget serial port appears
echo "provision.sh: done. Logs: journalctl -u latent-instrument -f; i2cdetect -y 1 should show 0x48 and 0x5a."
