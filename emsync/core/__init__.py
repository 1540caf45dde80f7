"""The basics every layer uses: errors, params (config), atomic writes and the output guard (io),
environment defaults (env), secret redaction, the device, request limits and weights provenance.
Nothing here imports another emsync package."""
