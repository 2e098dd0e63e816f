#!/usr/bin/env bash
# Installs the Debian packages ipfund needs when they are missing (WeasyPrint's Pango/HarfBuzz stack,
# the HarfBuzz subsetter that makes PDFs small, fast and reproducible, and PostgreSQL for the
# production-database tests, and Debian's chromium for the desk's browser tests (Playwright drives it;
# its own browser download is not used), with node and npm for the desk's pinned front-end assets).
# Idempotent; does nothing when everything is present.
set -euo pipefail
# poppler-utils: pdftoppm, for the dossier visual regression test (tests/unit/test_dossier_visual.py).
pkgs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig libffi8 shared-mime-info poppler-utils
      chromium)
# node and npm may come from elsewhere (e.g. NodeSource's nodejs, which carries npm): Debian's only when absent
if ! command -v npm >/dev/null 2>&1; then pkgs+=(nodejs npm); fi
if [ "${IPFUND_WITH_POSTGRES:-0}" = "1" ]; then pkgs+=(postgresql postgresql-client); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "system-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "system-deps: please install as root: apt-get install -y ${missing[*]}" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
