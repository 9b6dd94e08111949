"""Pure money and calendar rules (no I/O) shared by the PFMS services."""
