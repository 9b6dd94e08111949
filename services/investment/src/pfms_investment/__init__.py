"""PFMS investment service."""
