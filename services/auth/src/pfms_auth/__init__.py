"""PFMS auth service."""
