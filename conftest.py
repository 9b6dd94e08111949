"""One pytest run for the whole repo: the fleet's fixtures start real servers once per run."""

pytest_plugins = ["pfms_platform.testing"]
