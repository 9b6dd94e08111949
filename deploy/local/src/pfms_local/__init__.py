"""Developer and operator tooling for running the fleet without Docker."""
