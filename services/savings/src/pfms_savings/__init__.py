"""PFMS savings service."""
