#!/usr/bin/env bash
# Debian packages the project needs: Chromium for the real-browser UI test, Tesseract to read
# scanned PDF pages (OCR). Installs only what is missing.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/tesseract ] || missing+=(tesseract-ocr tesseract-ocr-eng)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
