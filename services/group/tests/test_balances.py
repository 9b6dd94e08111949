"""The running totals per member always equal the sums of the ledger rows they summarise."""

import random
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pfms_group.models import ExpensePayer, ExpenseSplit, MemberBalance, Settlement

pytestmark = pytest.mark.integration


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
    assert kept == {u: tuple(v) for u, v in sums.items()}
    return kept


async def test_running_totals_match_the_ledger_after_a_random_history(env) -> None:
    rng = random.Random(11)
    people = [env.person() for _ in range(4)]
    group_id = await env.group(*people)
    ids = [str(p.user_id) for p in people]
    for _ in range(12):
        who = rng.choice(people)
        sharing = rng.sample(ids, rng.randint(1, 4))
        amount = Decimal(rng.randint(1, 99999)) / 100
        kind = rng.choice(["equal", "weight"])
        participants = [
            {"user_id": u} if kind == "equal" else {"user_id": u, "weight": str(rng.randint(1, 5))} for u in sharing
        ]
        await env.expense(group_id, who, amount=str(amount), split_type=kind, participants=participants)
    data = await env.balances(group_id, people[0])
    for debt in data["debts"][:2]:
        payer = next(p for p in people if str(p.user_id) == debt["from_user_id"])
        receiver = next(p for p in people if str(p.user_id) == debt["to_user_id"])
        made = await env.client.post(
            f"/api/v1/groups/{group_id}/settle",
            json={"to_user_id": debt["to_user_id"], "amount": debt["amount"]},
            headers=payer.headers,
        )
        confirmed = await env.client.post(
            f"/api/v1/groups/{group_id}/settlements/{made.json()['data']['id']}/confirm", headers=receiver.headers
        )
        assert confirmed.status_code == 200
    await ledger_sums(env, group_id)
    after = await env.balances(group_id, people[1])
    assert sum(Decimal(m["net"]) for m in after["members"]) == 0
    assert len(after["debts"]) <= len(people) - 1
