"""PFMS ai service."""
