#!/usr/bin/env bash
# The system packages the module's features and tests use for real:
# wkhtmltopdf renders the PDF reports, with Noto CJK for the Chinese
# statements, pdftoppm (poppler-utils) turns them into pictures, Chromium
# runs the portal tours (Odoo's browser tests). Installs the missing ones
# with apt-get when it can; says what to install and fails otherwise.
set -euo pipefail

missing=()
command -v wkhtmltopdf >/dev/null 2>&1 || missing+=(wkhtmltopdf)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || missing+=(fonts-noto-cjk)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || command -v google-chrome >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "==> installing ${missing[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    exit 0
fi
echo "ERROR: missing system packages: ${missing[*]}. Install them (e.g. apt-get install ${missing[*]}), then retry." >&2
exit 1
