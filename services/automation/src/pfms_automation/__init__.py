"""PFMS automation service."""
