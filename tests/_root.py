"""The clone these tests belong to (tests run from its root; the library finds it the same way)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
