"""The ai service's MongoDB (motor): one client per process, opened and closed with the app."""

from fastapi import FastAPI, Request
from motor.motor_asyncio import AsyncIOMotorClient


async def open_store(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.mongo = AsyncIOMotorClient(settings.mongo_url, serverSelectionTimeoutMS=2000, tz_aware=True)
    app.state.mongo_db = app.state.mongo[settings.mongo_database]


async def close_store(app: FastAPI) -> None:
    app.state.mongo.close()


async def check_mongo(request: Request) -> None:
    await request.app.state.mongo_db.command("ping")
