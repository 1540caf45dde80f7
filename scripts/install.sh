#!/usr/bin/env bash
# Everything a fresh machine needs: system packages, then the Python package with its pinned
# dependencies (pip, not uv: torch/torchvision come from the machine's local wheel cache).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_system.sh
python3 -m pip install -q --disable-pip-version-check -e ".[test]"
python3 -c "import emsync, torch, prefect, dvc; print('python packages: ok')"
