"""Every benchmark's headline figures in one file and one table, each next to its goal.

Reads bench/results/*.json (what the scripts in bench/ last saved), picks the figures named in
`FIGURES` below — the one place that says which number of which file is a headline, in what unit,
and what its goal is — and writes bench/results.json (each figure with its value, goal, whether it
is met, when it was measured and the machine's load then) and the Markdown table between the
`<!-- bench:start -->` and `<!-- bench:end -->` markers of the root README. `make bench` runs it
last; it also runs alone (it measures nothing itself).

    uv run python bench/summary.py [--no-save]
"""

import argparse
import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SUMMARY = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Figure:
    """One headline number: `path` (dotted keys) in bench/results/<file>.json, and its goal if it has
    one (`compare` is how the value must stand to the goal: "<", "<=", ">=" or ">")."""

    file: str
    path: str
    label: str
    unit: str
    goal: float | None = None
    compare: str = ""


FIGURES: tuple[Figure, ...] = (
    Figure("fleet", "mix.rps", "fleet mix through the gateway, 64 clients: throughput", "req/s", 1250, ">="),
    Figure("fleet", "mix.p95_ms", "fleet mix through the gateway: p95", "ms", 120, "<"),
    Figure("fleet", "mix.p99_ms", "fleet mix through the gateway: p99", "ms"),
    Figure("fleet", "mix.errors", "fleet mix through the gateway: errors (non-2xx, socket)", "", 0, "<="),
    Figure("fleet", "direct_vs_gateway.gateway_share_of_direct", "profile read: gateway ÷ direct", "share"),
    Figure("fleet", "memory_mib.fleet_total_gib", "fleet + servers memory (PSS), peak under load", "GiB", 3, "<"),
    Figure("events", "categorized.commit_to_applied.p50_ms", "expense 201 → categorized applied: p50", "ms"),
    Figure("events", "categorized.commit_to_applied.p95_ms", "expense 201 → categorized applied: p95", "ms", 100, "<"),
    Figure("events", "relay.events_per_second", "outbox relay with publisher confirms", "events/s", 5000, ">="),
    Figure("events", "outbox_cost.with_as_share_of_without", "expense write with ÷ without its outbox row", "share"),
    Figure("consumer", "burst.cpu_ms_per_event", "platform consumer, 5,000 waiting events: CPU per event", "ms"),
    Figure(
        "consumer", "before.burst.cpu_ms_per_event", "the same before batching (date, load: its `before` block)", "ms"
    ),
    Figure("consumer", "burst.events_per_second", "platform consumer, 5,000 waiting events", "events/s"),
    Figure("consumer", "lone.publish_to_applied.p95_ms", "platform consumer, a lone event → applied: p95", "ms"),
    Figure("identity", "gateway.rps", "user profile through the gateway, 64 clients", "req/s", 1250, ">="),
    Figure("identity", "gateway.p99_ms", "user profile through the gateway: p99", "ms", 100, "<"),
    Figure("identity", "gateway_share_of_direct", "user profile: gateway ÷ direct", "share", 0.70, ">="),
    Figure("identity", "login.p95_ms", "login (argon2id): p95", "ms"),
    Figure("expense", "import_csv.seconds", "expense import, 100,000-row CSV", "s", 10, "<"),
    Figure("expense", "list_expenses.filtered_page.p95_ms", "expense list, filtered, of 100,000: p95", "ms", 20, "<"),
    Figure("ai", "http_categorize.p95_ms", "ai categorise over HTTP: p95", "ms", 10, "<"),
    Figure("ai", "events.seconds", "ai: 10,000 expense.created → expense.categorized", "s", 20, "<"),
    Figure("automation", "evaluate.p95_ms", "automation: 1,000 rules against one event: p95", "ms", 5, "<"),
    Figure("group", "balances_simplified.p95_ms", "group balances, 1,000 members: p95", "ms", 1000, "<"),
    Figure("income", "http_uncached.p95_ms", "income 365-day projection, uncached: p95", "ms", 50, "<"),
    Figure("investment", "http_uncached.p95_ms", "investment analytics, uncached: p95", "ms", 100, "<"),
    Figure(
        "loan", "pure_schedule.reducing_compound_monthly.p95_ms", "loan 360-instalment schedule: p95", "ms", 20, "<"
    ),
    Figure("loan", "http_get_schedule_360.p95_ms", "loan schedule over HTTP: p95", "ms", 20, "<"),
    Figure("market-data", "cached_public_quote.p95_ms", "market-data cached quote: p95", "ms", 10, "<"),
    Figure("notification", "events_10k.seconds", "notification: 10,000 in-app from events", "s", 10, "<"),
    Figure("notification-push", "refresh.p95_ms", "notification FCM token refresh: p95", "ms"),
    Figure("notification-push", "stampede.refreshes", "FCM token refreshes by 200 refused callers", "", 1, "<="),
    Figure("report", "job_pdf.submit_to_completed.p95_ms", "report monthly PDF job, submit → completed: p95", "ms"),
    Figure("savings", "progress_http.p95_ms", "savings progress, 10,000 entries: p95", "ms"),
    Figure("tax", "http_uncached.p95_ms", "tax calculation, uncached: p95", "ms", 100, "<"),
    Figure("accounts", "transfers.per_second", "accounts: 1,000 concurrent transfers on 10 wallets", "transfers/s"),
    Figure("accounts", "reads.balance_http.p95_ms", "accounts balance, 100,000 postings: p95", "ms", 10, "<"),
    Figure("accounts_cards", "concurrent.per_second", "accounts: 1,100 concurrent card authorisations", "auth/s"),
    Figure("accounts_cards", "sequential.authorisation_http.p95_ms", "accounts card authorisation: p95", "ms"),
    Figure("accounts_payments", "sends_per_second", "accounts: 200 concurrent P2P payments sent", "payments/s"),
    Figure("accounts_payments", "all_settled_after_seconds", "accounts: the same 200 payments all settled", "s"),
)

COMPARE = {
    "<": lambda v, g: v < g,
    "<=": lambda v, g: v <= g,
    ">=": lambda v, g: v >= g,
    ">": lambda v, g: v > g,
}
SYMBOL = {"<": "<", "<=": "≤", ">=": "≥", ">": ">"}


def lookup(result: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path; KeyError naming the path if it is not there."""
    value: Any = result
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise KeyError(path)
        value = value[key]
    return value


def measured(result: Mapping[str, Any]) -> str | None:
    """When the run was made, as its file says (scripts name it `measured_at` or `date`)."""
    when = result.get("measured_at") or result.get("date")
    return str(when) if when else None


def load(result: Mapping[str, Any]) -> list[float] | None:
    """The 1-minute load average during the run — before and after, or at the end — in whichever
    of the shapes the scripts record it."""
    found = result.get("machine")
    machine = found if isinstance(found, Mapping) else {}
    if "load_average_1m_before_after" in machine:
        return [float(x) for x in machine["load_average_1m_before_after"]]
    if "load_average_1m_at_end" in machine:
        return [float(machine["load_average_1m_at_end"])]
    averages = result.get("load_average")
    if isinstance(averages, Mapping) and "before" in averages:
        return [float(averages["before"][0]), float(averages["after"][0])]
    if "load_average_1m_before_after" in result:
        return [float(x) for x in result["load_average_1m_before_after"]]
    if "load_average_before" in result:
        return [float(result["load_average_before"][0]), float(result["load_average_after"][0])]
    return None


def extract(figure: Figure, result: Mapping[str, Any]) -> dict[str, Any]:
    """One row of results.json: the figure's value, goal and whether it is met (None without a goal)."""
    value = float(lookup(result, figure.path))
    met = None if figure.goal is None else COMPARE[figure.compare](value, figure.goal)
    return {
        "benchmark": figure.file,
        "figure": figure.label,
        "path": figure.path,
        "value": value,
        "unit": figure.unit,
        "goal": None if figure.goal is None else f"{SYMBOL[figure.compare]} {number(figure.goal, figure.unit)}",
        "met": met,
        "measured_at": measured(result),
        "load_1m": load(result),
    }


def summarise(results: Mapping[str, Mapping[str, Any]], figures: Sequence[Figure] = FIGURES) -> list[dict[str, Any]]:
    """Every figure whose results file exists, in `figures` order; a file not run yet is left out."""
    return [extract(f, results[f.file]) for f in figures if f.file in results]


def number(value: float, unit: str) -> str:
    """A value as the table shows it: a share as a percentage, whole numbers and values from 100 up
    without decimals (with thousands separators), below 10 two decimals, else one."""
    if unit == "share":
        return f"{value:.0%}"
    if abs(value) >= 100 or value == int(value):
        text = f"{value:,.0f}"
    else:
        text = f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return f"{text} {unit}".strip()


def render(rows: Sequence[Mapping[str, Any]]) -> str:
    """The Markdown table of `rows` (as `summarise` gives them)."""
    verdict = {True: "met", False: "**not met**", None: "—"}
    lines = [
        "| benchmark | figure | value | goal | met | measured | load (1 min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        when = (row["measured_at"] or "not recorded")[:16].replace("T", " ")
        load_text = " to ".join(f"{x:g}" for x in row["load_1m"]) if row["load_1m"] else "not recorded"
        lines.append(
            f"| {row['benchmark']} | {row['figure']} | {number(row['value'], row['unit'])} | {row['goal'] or '—'} "
            f"| {verdict[row['met']]} | {when} | {load_text} |"
        )
    return "\n".join(lines)


def read_results(folder: Path = RESULTS) -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def with_table(text: str, table: str) -> str:
    """`text` with what lies between the markers replaced by `table` (unchanged without the markers)."""
    if START not in text or END not in text:
        return text
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-save", action="store_true", help="print the table; leave results.json and README")
    args = parser.parse_args()
    results = read_results()
    unmapped = sorted(set(results) - {f.file for f in FIGURES})
    if unmapped:
        raise SystemExit(f"results without a headline figure in bench/summary.py FIGURES: {', '.join(unmapped)}")
    rows = summarise(results)
    here = {"cpus": os.cpu_count(), "system": platform.platform(), "python": platform.python_version()}
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    written = generated[:16].replace("T", " ")
    table = (
        f"Machine: {here['cpus']} cores, {here['system']}, Python {here['python']}; table written {written} UTC "
        "from `bench/results/*.json` by `bench/summary.py` (each row's date and load are its own run's).\n\n"
        + render(rows)
    )
    summary = {
        "generated_at": generated,
        "machine": here,
        "figures": rows,
        "runs": {
            name: {"measured_at": measured(result), "load_1m": load(result), "machine": result.get("machine")}
            for name, result in results.items()
        },
        "not_run": sorted({f.file for f in FIGURES} - set(results)),
    }
    print(table)
    if not args.no_save:
        SUMMARY.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        README.write_text(with_table(README.read_text(), table))


if __name__ == "__main__":
    main()
