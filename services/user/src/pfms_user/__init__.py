"""PFMS user service."""
