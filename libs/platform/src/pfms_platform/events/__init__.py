"""The event bus: outbox on the producing side, inbox-deduplicated consumers on the other."""
