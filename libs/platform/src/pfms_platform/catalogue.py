"""The fleet: every service, its port and its database. One list that the runner, the gateway
config tests, the topology export and compose checks all read."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    paths: tuple[str, ...]
    store: str = "postgres"

    @property
    def package(self) -> str:
        return "pfms_" + self.name.replace("-", "_")

    @property
    def database(self) -> str:
        return "pfms_" + {"market-data": "market"}.get(self.name, self.name.replace("-", "_"))

    @property
    def env_prefix(self) -> str:
        return "PFMS_" + self.name.replace("-", "_").upper() + "_"


SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("auth", 3001, ("/api/v1/auth", "/.well-known/jwks.json")),
    ServiceInfo("user", 3002, ("/api/v1/user", "/api/v1/spaces")),
    ServiceInfo("expense", 3003, ("/api/v1/expenses", "/api/v1/categories", "/api/v1/budgets", "/api/v1/habits")),
    ServiceInfo("income", 3004, ("/api/v1/income",)),
    ServiceInfo("investment", 3005, ("/api/v1/portfolios", "/api/v1/watchlists")),
    ServiceInfo("loan", 3006, ("/api/v1/loans", "/api/v1/contacts")),
    ServiceInfo("group", 3007, ("/api/v1/groups",)),
    ServiceInfo("tax", 3008, ("/api/v1/tax",)),
    ServiceInfo("ai", 3009, ("/api/v1/ai",), store="mongo"),
    ServiceInfo("notification", 3010, ("/api/v1/notifications",)),
    ServiceInfo("automation", 3011, ("/api/v1/automation",)),
    ServiceInfo("report", 3012, ("/api/v1/reports",)),
    ServiceInfo("market-data", 3013, ("/api/v1/market",)),
    ServiceInfo("savings", 3014, ("/api/v1/savings",)),
    ServiceInfo("accounts", 3015, ("/api/v1/accounts",)),
)

GATEWAY_PORT = 3000


def service(name: str) -> ServiceInfo:
    return next(s for s in SERVICES if s.name == name)
