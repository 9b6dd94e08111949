"""PFMS accounts service."""
