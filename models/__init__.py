"""Neural networks (one model per file, config dataclass above it)."""
