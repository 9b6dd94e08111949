"""Events of the auth service.

It publishes `user.created`, `user.deleted`, `auth.email_verification_requested` and
`auth.password_reset_requested` (through the outbox, in the transaction of the change: see
`accounts.py`) and consumes none: as the producer of `user.deleted` it already deleted its rows.
"""

from pfms_platform.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
