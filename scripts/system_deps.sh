#!/usr/bin/env bash
# Installs the Debian packages that Qt (offscreen and xcb) and the test suite need, only when
# they are missing, so repeated `make test` runs cost nothing. Needs root (as on CI).
set -euo pipefail
need=()
# poppler-utils: the PDF report tests read the rendered text back with pdftotext.
for pkg in libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 fonts-dejavu-core \
  poppler-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
