"""Benchmarks behind `emsync bench <name>`: each module has add_args(parser) and run(args) -> dict."""
