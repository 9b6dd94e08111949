"""PFMS income service."""
