"""bench/summary.py: figures picked from results files with their goals, the table, and a mapping
that leaves no results file out."""

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_summary", BENCH / "summary.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


summary = _load()
Figure = summary.Figure

RESULT = {
    "measured_at": "2026-11-26T10:00:00+00:00",
    "machine": {"cpus": 2, "load_average_1m_before_after": [1.5, 2.25]},
    "mix": {"rps": 1300.4, "p95_ms": 130.0},
    "share": 0.975,
}


def test_a_figure_is_compared_with_its_goal() -> None:
    fast = summary.extract(Figure("fleet", "mix.rps", "throughput", "req/s", 1250, ">="), RESULT)
    slow = summary.extract(Figure("fleet", "mix.p95_ms", "p95", "ms", 120, "<"), RESULT)
    assert fast == {
        "benchmark": "fleet",
        "figure": "throughput",
        "path": "mix.rps",
        "value": 1300.4,
        "unit": "req/s",
        "goal": "≥ 1,250 req/s",
        "met": True,
        "measured_at": "2026-11-26T10:00:00+00:00",
        "load_1m": [1.5, 2.25],
    }
    assert slow["met"] is False and slow["goal"] == "< 120 ms"


def test_a_figure_without_a_goal_is_neither_met_nor_missed() -> None:
    row = summary.extract(Figure("fleet", "share", "gateway ÷ direct", "share"), RESULT)
    assert row["goal"] is None and row["met"] is None and row["value"] == 0.975


def test_a_path_the_file_lacks_is_named() -> None:
    with pytest.raises(KeyError, match=r"mix\.p99_ms"):
        summary.extract(Figure("fleet", "mix.p99_ms", "p99", "ms"), RESULT)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"machine": {"load_average_1m_at_end": 3.0}}, [3.0]),
        ({"load_average": {"before": [3.64, 3.98, 8.21], "after": [5.11, 4.32, 8.1]}}, [3.64, 5.11]),
        ({"load_average_before": [3.68, 5.2, 6.6], "load_average_after": [3.81, 5.1, 6.6]}, [3.68, 3.81]),
        ({"load_average_1m_before_after": [1.0, 2.0], "machine": "x86_64, 2 cores"}, [1.0, 2.0]),
        ({"machine": "x86_64, 2 cores"}, None),
    ],
)
def test_the_load_is_read_from_every_shape_the_scripts_write(result: dict[str, object], expected: object) -> None:
    assert summary.load(result) == expected


def test_the_table_has_one_row_per_figure() -> None:
    rows = summary.summarise(
        {"fleet": RESULT},
        [
            Figure("fleet", "mix.rps", "throughput", "req/s", 1250, ">="),
            Figure("fleet", "share", "gateway ÷ direct", "share"),
            Figure("events", "relay.events_per_second", "relay", "events/s", 5000, ">="),  # not run: left out
        ],
    )
    assert summary.render(rows).splitlines() == [
        "| benchmark | figure | value | goal | met | measured | load (1 min) |",
        "|---|---|---|---|---|---|---|",
        "| fleet | throughput | 1,300 req/s | ≥ 1,250 req/s | met | 2026-11-26 10:00 | 1.5 to 2.25 |",
        "| fleet | gateway ÷ direct | 98% | — | — | 2026-11-26 10:00 | 1.5 to 2.25 |",
    ]


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [(9.567, "s", "9.57 s"), (14.32, "ms", "14.3 ms"), (2292.7, "ms", "2,293 ms"), (0, "", "0"), (0.7, "share", "70%")],
)
def test_numbers_are_shown_with_sensible_precision(value: float, unit: str, shown: str) -> None:
    assert summary.number(value, unit) == shown


def test_the_readme_table_is_replaced_between_the_markers_only() -> None:
    text = f"intro\n{summary.START}\nold table\n{summary.END}\nrest\n"
    assert summary.with_table(text, "new") == f"intro\n{summary.START}\nnew\n{summary.END}\nrest\n"
    assert summary.with_table("no markers\n", "new") == "no markers\n"


def test_every_results_file_has_a_headline_figure() -> None:
    """A new benchmark's results file must be added to FIGURES, or the summary would forget it."""
    mapped = {f.file for f in summary.FIGURES}
    files = {p.stem for p in (BENCH / "results").glob("*.json")}
    assert files - mapped == set()


def test_every_figure_is_found_in_its_committed_results_file() -> None:
    for figure in summary.FIGURES:
        path = BENCH / "results" / f"{figure.file}.json"
        if path.exists():
            summary.extract(figure, json.loads(path.read_text()))
