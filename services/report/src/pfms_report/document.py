"""What a report says, independent of its file format: a title, tables of typed cells and a chart.

The builders (builders.py) fill one `Document` from upstream data; each renderer (render.py) turns
the same document into PDF, XLSX or CSV, so the three formats always carry the same figures.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

Cell = str | int | Decimal | date | None


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    """A bar chart of non-negative amounts by label (one currency)."""

    title: str
    points: list[tuple[str, Decimal]]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    tables: list[Table]
    chart: Chart | None = None
