"""From an event on the bus to what a person should be told (pure: no I/O, no clock).

Each function returns the intents of one event type; the template of the intent's key turns its
`data` into words. Deduplication keys make a redelivered or repeated fact reach a person once.
"""

from collections.abc import Callable
from typing import Any

from pfms_contracts import EventData
from pfms_contracts.expense import BudgetThresholdReached
from pfms_contracts.group import GroupExpenseCreated, GroupSettlementCompleted
from pfms_contracts.identity import EmailVerificationRequested, FamilyInvited, PasswordResetRequested
from pfms_contracts.investment import PriceAlertTriggered
from pfms_contracts.loan import LoanOverdue
from pfms_contracts.notification import NotificationRequested
from pfms_contracts.report import ReportCompleted, ReportFailed
from pfms_contracts.savings import GoalAchieved, GoalMilestoneReached
from pfms_contracts.spaces import SpaceInvitationCreated
from pfms_notification.domain import Category, Intent, Priority

Builder = Callable[[Any], list[Intent]]


def _json(data: EventData) -> dict[str, Any]:
    return data.model_dump(mode="json")


def requested(e: NotificationRequested) -> list[Intent]:
    priority = e.priority if e.priority in Priority._value2member_map_ else Priority.NORMAL
    category = e.category if e.category in Category._value2member_map_ else Category.SYSTEM
    return [
        Intent(
            user_id=e.user_id,
            category=category,
            key=e.type,
            title=e.title,
            message=e.message,
            priority=Priority(priority),
            reference_type=e.reference_type,
            reference_id=e.reference_id,
            action_url=e.action_url,
            dedupe_key=e.dedupe_key,
            data=dict(e.data),
        )
    ]


def budget(e: BudgetThresholdReached) -> list[Intent]:
    return [
        Intent(
            user_id=e.user_id,
            category=Category.EXPENSE,
            key=e.type,
            priority=Priority.HIGH if e.threshold_percent >= 100 else Priority.NORMAL,
            reference_type="budget",
            reference_id=e.budget_id,
            action_url=f"/budgets/{e.budget_id}",
            dedupe_key=f"budget:{e.budget_id}:{e.period_start}:{e.threshold_percent}",
            data=_json(e),
        )
    ]


def loan_overdue(e: LoanOverdue) -> list[Intent]:
    which = e.instalment_id or e.due_date
    return [
        Intent(
            user_id=e.user_id,
            category=Category.LOAN,
            key=e.type,
            priority=Priority.HIGH,
            reference_type="loan",
            reference_id=e.loan_id,
            action_url=f"/loans/{e.loan_id}",
            dedupe_key=f"loan:{e.loan_id}:{which}:overdue",
            data=_json(e),
        )
    ]


def goal(e: GoalAchieved | GoalMilestoneReached) -> list[Intent]:
    step = e.milestone_percent if isinstance(e, GoalMilestoneReached) else 100
    return [
        Intent(
            user_id=e.user_id,
            category=Category.SAVINGS,
            key=e.type,
            priority=Priority.NORMAL if step == 100 else Priority.LOW,
            reference_type="goal",
            reference_id=e.goal_id,
            action_url=f"/savings/goals/{e.goal_id}",
            dedupe_key=f"goal:{e.goal_id}:{step}",
            data=_json(e),
        )
    ]


def price_alert(e: PriceAlertTriggered) -> list[Intent]:
    return [
        Intent(
            user_id=e.user_id,
            category=Category.INVESTMENT,
            key=e.type,
            priority=Priority.HIGH,
            reference_type="price_alert",
            reference_id=e.alert_id,
            action_url="/watchlists",
            dedupe_key=f"price_alert:{e.alert_id}",
            data=_json(e),
        )
    ]


def group_expense(e: GroupExpenseCreated) -> list[Intent]:
    """Every member with a share, except whoever added it, hears of a new shared expense (with their
    own share only: the full lists would repeat in every member's row)."""
    data = e.model_dump(mode="json", exclude={"shares", "payers"})
    return [
        Intent(
            user_id=share.user_id,
            category=Category.GROUP,
            key=e.type,
            priority=Priority.LOW,
            reference_type="group_expense",
            reference_id=e.expense_id,
            action_url=f"/groups/{e.group_id}",
            dedupe_key=f"group_expense:{e.expense_id}",
            data={**data, "your_share": str(share.amount)},
        )
        for share in e.shares
        if share.user_id != e.user_id
    ]


def settlement(e: GroupSettlementCompleted) -> list[Intent]:
    """The receiver confirmed: the payer (`from_user_id`) hears that the payment is settled."""
    return [
        Intent(
            user_id=e.from_user_id,
            category=Category.GROUP,
            key=e.type,
            reference_type="group_settlement",
            reference_id=e.settlement_id,
            action_url=f"/groups/{e.group_id}",
            dedupe_key=f"settlement:{e.settlement_id}",
            data=_json(e),
        )
    ]


def auth_mail(e: EmailVerificationRequested | PasswordResetRequested) -> list[Intent]:
    """Transactional mail to the address in the event; the token lives only in the rendered mail."""
    return [
        Intent(
            user_id=e.user_id,
            category=Category.SECURITY,
            key=e.type,
            priority=Priority.HIGH,
            data={"expires_at": e.expires_at.isoformat(), "token": e.token},
            email_to=e.email,
        )
    ]


def family_invited(e: FamilyInvited) -> list[Intent]:
    """The invitee may have no account yet: the mail goes to their address; the inviter owns the record."""
    return [
        Intent(
            user_id=e.user_id,
            category=Category.SYSTEM,
            key=e.type,
            priority=Priority.HIGH,
            reference_type="family_invitation",
            reference_id=e.invitation_id,
            dedupe_key=f"family_invitation:{e.invitation_id}",
            data={"relationship": e.relationship, "invitation_id": str(e.invitation_id), "token": e.token},
            email_to=e.invitee_email,
        )
    ]


def space_invited(e: SpaceInvitationCreated) -> list[Intent]:
    """Like a family invitation: mailed to the invitee's address, recorded for the inviter."""
    return [
        Intent(
            user_id=e.user_id,
            category=Category.SYSTEM,
            key=e.type,
            priority=Priority.HIGH,
            reference_type="space_invitation",
            reference_id=e.invitation_id,
            dedupe_key=f"space_invitation:{e.invitation_id}",
            data={
                "space_name": e.space_name,
                "role": e.role,
                "invitation_id": str(e.invitation_id),
                "token": e.token,
            },
            email_to=e.invitee_email,
        )
    ]


def report(e: ReportCompleted | ReportFailed) -> list[Intent]:
    return [
        Intent(
            user_id=e.user_id,
            category=Category.SYSTEM,
            key=e.type,
            reference_type="report",
            reference_id=e.report_id,
            action_url=e.download_path if isinstance(e, ReportCompleted) else f"/reports/{e.report_id}",
            dedupe_key=f"{e.type}:{e.report_id}",
            data=_json(e),
        )
    ]


BUILDERS: dict[str, Builder] = {
    NotificationRequested.type: requested,
    BudgetThresholdReached.type: budget,
    LoanOverdue.type: loan_overdue,
    GoalAchieved.type: goal,
    GoalMilestoneReached.type: goal,
    PriceAlertTriggered.type: price_alert,
    GroupExpenseCreated.type: group_expense,
    GroupSettlementCompleted.type: settlement,
    EmailVerificationRequested.type: auth_mail,
    PasswordResetRequested.type: auth_mail,
    FamilyInvited.type: family_invited,
    SpaceInvitationCreated.type: space_invited,
    ReportCompleted.type: report,
    ReportFailed.type: report,
}

SECRET_KEYS = frozenset({"token"})
"""Template variables used for rendering but never stored on the notification or sent to webhooks."""
