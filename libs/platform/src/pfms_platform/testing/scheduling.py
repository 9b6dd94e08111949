"""How `pytest -n N` (pytest-xdist) shares the run between worker processes.

Each worker is its own pytest session, so it starts its own `stack` (free ports, its own temp
folder) and would start its own e2e fleet (15 services + the gateway) if it got an end-to-end
test. So the unit of work is a whole test file (its module fixtures are set up once) and the whole
`tests-e2e` folder is ONE unit, handed out first: it is the longest, and one worker runs the fleet
while the others take the files one by one.
"""

from typing import Any

import pytest

E2E = "tests-e2e"


def scope_of(nodeid: str) -> str:
    """The work unit of a test: the e2e folder as a whole, else its file."""
    path = nodeid.split("::", 1)[0]
    return E2E if path.split("/", 1)[0] == E2E else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") == "each":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FleetFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if E2E in self.workqueue:
                self.workqueue.move_to_end(E2E, last=False)
            super()._assign_work_unit(node)

    return FleetFirst(config, log)
