"""App factory and entry point of the accounts service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_accounts import api_accounts, api_cards, api_connections, api_moves, api_payments, card_spends, payments, sync
from pfms_accounts.events import HANDLERS
from pfms_accounts.issuer import issuers
from pfms_accounts.providers.belvo import BelvoProvider
from pfms_accounts.providers.plaid import PlaidProvider
from pfms_accounts.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.internal import InternalClient

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_clients(app: FastAPI) -> None:
        """market-data for exchange and net-worth rates; user for payments to an email."""
        app.state.market = InternalClient(settings, target="market-data", attempts=settings.internal_attempts)
        app.state.users = InternalClient(settings, target="user", attempts=settings.internal_attempts)
        app.state.fx_cache = {}
        app.state.card_issuers = issuers(settings)
        app.state.providers = {
            "plaid": PlaidProvider(
                settings.plaid_host, settings.plaid_client_id, settings.plaid_secret.get_secret_value()
            ),
            "belvo": BelvoProvider(
                settings.belvo_host,
                settings.belvo_secret_id,
                settings.belvo_secret_password.get_secret_value(),
                settings.belvo_webhook_secret.get_secret_value(),
                initial_days=settings.bank_initial_days,
            ),
        }

    async def close_clients(app: FastAPI) -> None:
        await app.state.market.aclose()
        await app.state.users.aclose()
        await app.state.providers["belvo"].aclose()

    return create_app(
        settings,
        title="PFMS accounts service",
        routers=[api_payments.router, api_connections.router, api_cards.router, api_moves.router, api_accounts.router],
        handlers=HANDLERS,
        exporter=card_spends.without_card_secrets(payments.export),
        on_startup=[open_clients],
        on_shutdown=[close_clients],
        background=[payments.expiry_loop, sync.loop],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
