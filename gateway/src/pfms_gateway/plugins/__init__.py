"""Kong plugins the local gateway implements, with Kong 3.x's static priorities (higher runs first)."""

PRIORITIES: dict[str, int] = {
    "correlation-id": 100001,
    "cors": 2000,
    "jwt": 1450,
    "request-size-limiting": 951,
    "rate-limiting": 910,
    "prometheus": 13,
}
