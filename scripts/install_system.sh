#!/usr/bin/env bash
# System packages emsync needs (Debian): real FluidSynth + GM SoundFont, ffmpeg/ffprobe,
# espeak-ng (demo speech tracks), sox, chromium (the survey browser test, driven by Playwright
# through executable_path; never `playwright install`). Used by the README and by .ci/run.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    ffmpeg fluidsynth libfluidsynth3 espeak-ng sox git chromium >/dev/null
echo "system packages: ok ($(ffmpeg -version | head -1 | cut -d' ' -f1-3); fluidsynth $(fluidsynth --version 2>/dev/null | head -1 | grep -o '[0-9.]*' | head -1))"
