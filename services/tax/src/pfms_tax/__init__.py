"""PFMS tax service."""
