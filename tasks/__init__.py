"""Prefect tasks (cached wrappers around emsync library code), one module per domain."""
