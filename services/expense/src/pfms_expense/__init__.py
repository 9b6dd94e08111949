"""PFMS expense service."""
