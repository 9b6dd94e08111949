"""PFMS gateway tooling: kong.yml rendering and a local, Kong-compatible gateway serving it."""
