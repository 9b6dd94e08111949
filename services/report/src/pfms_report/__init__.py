"""PFMS report service."""
