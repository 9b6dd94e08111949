"""The running totals per member and per pair always equal the sums of the ledger rows they summarise."""

import importlib.util
import random
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text

from pfms_group.models import ExpenseDebt, ExpensePayer, ExpenseSplit, MemberBalance, PairBalance, Settlement

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


async def ledger_sums(env, group_id: str) -> dict[uuid.UUID, tuple[Decimal, ...]]:
    gid = uuid.UUID(group_id)
    sums: dict[uuid.UUID, list[Decimal]] = {}
    async with env.svc.db.sessions() as session:
        queries = [
            select(ExpensePayer.user_id, func.sum(ExpensePayer.paid_amount))
            .where(ExpensePayer.group_id == gid)
            .group_by(ExpensePayer.user_id),
            select(ExpenseSplit.user_id, func.sum(ExpenseSplit.share_amount))
            .where(ExpenseSplit.group_id == gid)
            .group_by(ExpenseSplit.user_id),
            select(Settlement.from_user_id, func.sum(Settlement.amount))
            .where(Settlement.group_id == gid, Settlement.status == "completed")
            .group_by(Settlement.from_user_id),
            select(Settlement.to_user_id, func.sum(Settlement.amount))
            .where(Settlement.group_id == gid, Settlement.status == "completed")
            .group_by(Settlement.to_user_id),
        ]
        for column, query in enumerate(queries):
            for user_id, total in (await session.execute(query)).all():
                sums.setdefault(user_id, [Decimal(0)] * 4)[column] = total
        kept: dict[uuid.UUID, tuple[Decimal, ...]] = {
            row.user_id: (row.paid, row.share, row.settled_out, row.settled_in)
            for row in await session.scalars(select(MemberBalance).where(MemberBalance.group_id == gid))
        }
    await pair_sums(env, gid)
    zero = (Decimal(0),) * 4
    kept = {u: v for u, v in kept.items() if v != zero}  # a member whose entries were all deleted keeps a zero row
    assert kept == {u: tuple(v) for u, v in sums.items() if tuple(v) != zero}
    return kept


async def pair_sums(env, gid: uuid.UUID) -> None:
    """The per-pair running nets equal the per-expense debts and confirmed settlements, netted per pair."""
    net: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = {}
    async with env.svc.db.sessions() as session:
        edges = list(
            (
                await session.execute(
                    select(ExpenseDebt.debtor_id, ExpenseDebt.creditor_id, ExpenseDebt.amount).where(
                        ExpenseDebt.group_id == gid
                    )
                )
            ).all()
        )
        edges += [
            (s.to_user_id, s.from_user_id, s.amount)
            for s in await session.scalars(
                select(Settlement).where(Settlement.group_id == gid, Settlement.status == "completed")
            )
        ]
        kept = {
            (row.low_id, row.high_id): row.net
            for row in await session.scalars(select(PairBalance).where(PairBalance.group_id == gid))
            if row.net
        }
    for debtor, creditor, amount in edges:
        key, sign = ((debtor, creditor), 1) if debtor < creditor else ((creditor, debtor), -1)
        net[key] = net.get(key, Decimal(0)) + sign * amount
    assert kept == {k: v for k, v in net.items() if v}


async def test_running_totals_match_the_ledger_after_a_random_history(env) -> None:
    """A random sequence of creates, edits, deletes and confirmed settlements, checked after every step."""
    rng = random.Random(11)
    people = [env.person() for _ in range(4)]
    group_id = await env.group(*people)
    base = f"/api/v1/groups/{group_id}"
    ids = [str(p.user_id) for p in people]
    expenses: list[tuple[str, Any]] = []

    def split_body() -> dict[str, Any]:
        sharing = rng.sample(ids, rng.randint(1, 4))
        kind = rng.choice(["equal", "weight"])
        participants = [
            {"user_id": u} if kind == "equal" else {"user_id": u, "weight": str(rng.randint(1, 5))} for u in sharing
        ]
        return {"amount": str(Decimal(rng.randint(1, 99999)) / 100), "split_type": kind, "participants": participants}

    for step in range(24):
        action = rng.choice(["create", "create", "edit", "delete", "settle"]) if expenses else "create"
        if action == "create":
            who = rng.choice(people)
            made = await env.expense(group_id, who, **split_body())
            expenses.append((made["id"], who))
        elif action == "edit":
            expense_id, who = rng.choice(expenses)
            body = rng.choice([split_body(), {"amount": str(Decimal(rng.randint(1, 99999)) / 100)}])
            body["payers"] = [{"user_id": str(rng.choice(people).user_id), "amount": body["amount"]}]
            edited = await env.client.patch(f"{base}/expenses/{expense_id}", json=body, headers=who.headers)
            assert edited.status_code == 200, edited.text
        elif action == "delete":
            expense_id, who = expenses.pop(rng.randrange(len(expenses)))
            gone = await env.client.delete(f"{base}/expenses/{expense_id}", headers=who.headers)
            assert gone.status_code == 204, gone.text
        else:
            debts = (await env.balances(group_id, people[0]))["debts"]
            if debts:
                debt = rng.choice(debts)
                payer = next(p for p in people if str(p.user_id) == debt["from_user_id"])
                receiver = next(p for p in people if str(p.user_id) == debt["to_user_id"])
                made = await env.client.post(
                    f"{base}/settle",
                    json={"to_user_id": debt["to_user_id"], "amount": debt["amount"]},
                    headers=payer.headers,
                )
                confirmed = await env.client.post(
                    f"{base}/settlements/{made.json()['data']['id']}/confirm", headers=receiver.headers
                )
                assert confirmed.status_code == 200
        await ledger_sums(env, group_id)
        after = await env.balances(group_id, people[1])
        assert sum(Decimal(m["net"]) for m in after["members"]) == 0, step
        assert len(after["debts"]) <= len(people) - 1
    # migration 0004's backfill builds the same per-pair nets from the ledger
    spec = importlib.util.spec_from_file_location("pairs_0004", MIGRATIONS / "0004_pair_balances.py")
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with env.svc.db.sessions() as session:
        await session.execute(delete(PairBalance))
        await session.execute(text(migration.BACKFILL))
        await session.commit()
    await pair_sums(env, uuid.UUID(group_id))
