"""Turn evaluation records into the report: metrics, markdown tables, JSON and two PNGs.

Everything here is a pure function of the JSONL records, so a report can always be rebuilt
from a run directory (`python evals/run.py --resume --out DIR` with nothing left to run).
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from agents.record import ToolCallRecord  # noqa: E402
from trm_tool.data import wilson_interval  # noqa: E402
from trm_tool.puzzles import Grid  # noqa: E402

Status = Literal["ok", "parse_failure", "error", "skipped", "n/a"]
"""ok: an answer was read and scored; parse_failure: the LLM's text held no readable answer;
error: the item raised (server hiccup, no model for the kind, ...); skipped: the prompt does
not fit the LLM's context; n/a: the condition does not apply (no exact solver for ARC)."""

LLM_CONDITIONS = ("llm", "llm+trm")
"""Conditions whose answers an LLM writes (parse failures and tokens apply to them)."""


class Record(BaseModel):
    """One JSONL line: one item under one condition, with everything needed to audit it."""

    suite: str
    item_id: str
    kind: str
    condition: str
    model: str = Field(description="the LLM behind the condition; empty for trm and solver")
    status: Status
    correct: bool | None = Field(description="None when not scored (n/a, or no reference)")
    question: str = Field(description="the question grid as text")
    prompt: str | None = Field(default=None, description="what the LLM was sent")
    answer: str = Field(default="", description="the raw answer text")
    answer_grid: Grid | None = Field(default=None, description="the answer as read")
    error: str | None = None
    latency_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.suite, self.item_id, self.condition


class Cell(BaseModel):
    """The metrics of one (suite, condition) pair."""

    suite: str
    condition: str
    n: int = Field(description="scored items (n/a excluded)")
    correct: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    tool_call_rate: float | None
    parse_failure_rate: float | None
    errors: int
    skipped: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    tokens_in_mean: float | None
    tokens_out_mean: float | None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latest(records: Sequence[Record]) -> list[Record]:
    """One record per (suite, item, condition): the last one written (a resumed run retries
    errors and appends the new line)."""
    return list({record.key: record for record in records}.values())


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize_cell(suite: str, condition: str, records: Sequence[Record]) -> Cell:
    """Metrics of one cell from its records."""
    scored = [r for r in records if r.correct is not None]
    ran = [r for r in records if r.status not in ("n/a", "skipped")]
    correct = sum(bool(r.correct) for r in scored)
    low, high = wilson_interval(correct, len(scored)) if scored else (None, None)
    by_llm = condition in LLM_CONDITIONS
    latencies = [r.latency_ms for r in ran]
    return Cell(
        suite=suite,
        condition=condition,
        n=len(scored),
        correct=correct,
        accuracy=_rate(correct, len(scored)),
        ci_low=low,
        ci_high=high,
        tool_call_rate=_rate(sum(bool(r.tool_calls) for r in ran), len(ran))
        if condition == "llm+trm"
        else None,
        parse_failure_rate=_rate(sum(r.status == "parse_failure" for r in ran), len(ran))
        if by_llm
        else None,
        errors=sum(r.status == "error" for r in records),
        skipped=sum(r.status == "skipped" for r in records),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        tokens_in_mean=_mean([r.tokens_in for r in ran]) if by_llm else None,
        tokens_out_mean=_mean([r.tokens_out for r in ran]) if by_llm else None,
    )


def summarize(
    records: Sequence[Record], suites: Sequence[str], conditions: Sequence[str]
) -> list[Cell]:
    """Every (suite, condition) cell, suites outer, in the order given."""
    current = latest(records)
    return [
        summarize_cell(
            suite,
            condition,
            [r for r in current if r.suite == suite and r.condition == condition],
        )
        for suite in suites
        for condition in conditions
    ]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.1f} s"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def accuracy_text(cell: Cell) -> str:
    """`acc% [low-high] (n=N)`, plus error and skip counts; "-" where nothing was scored."""
    if cell.accuracy is None:
        return "-"
    text = f"{_pct(cell.accuracy)} [{_pct(cell.ci_low)}-{_pct(cell.ci_high)}] (n={cell.n})"
    notes = [f"{count} {what}" for count, what in ((cell.errors, "err"), (cell.skipped, "skip"))]
    notes = [note for note in notes if not note.startswith("0 ")]
    return f"{text} {', '.join(notes)}" if notes else text


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def accuracy_table(cells: Sequence[Cell], suites: Sequence[str], conditions: Sequence[str]) -> str:
    """Conditions x suites: accuracy with its 95% Wilson interval."""
    by_key = {(c.suite, c.condition): c for c in cells}
    rows = [
        [condition, *(accuracy_text(by_key[suite, condition]) for suite in suites)]
        for condition in conditions
    ]
    return _markdown(["condition", *suites], rows)


def details_table(cells: Sequence[Cell]) -> str:
    """Every metric of every cell, one row each."""
    header = [
        "suite",
        "condition",
        "n",
        "accuracy",
        "tool calls",
        "parse failures",
        "errors",
        "skipped",
        "latency p50",
        "latency p95",
        "tokens in",
        "tokens out",
    ]
    rows = [
        [
            c.suite,
            c.condition,
            str(c.n),
            _pct(c.accuracy),
            _pct(c.tool_call_rate),
            _pct(c.parse_failure_rate),
            str(c.errors),
            str(c.skipped),
            _ms(c.latency_p50_ms),
            _ms(c.latency_p95_ms),
            _number(c.tokens_in_mean),
            _number(c.tokens_out_mean),
        ]
        for c in cells
    ]
    return _markdown(header, rows)


def error_summary(records: Sequence[Record]) -> list[str]:
    """Distinct errors with how often each occurred, most frequent first."""
    counts: dict[tuple[str, str, str], int] = {}
    for r in latest(records):
        if r.status == "error":
            key = (r.suite, r.condition, (r.error or "").splitlines()[0][:160])
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return [f"{suite} / {condition}: {n}x {message}" for (suite, condition, message), n in ordered]


def markdown_report(
    cells: Sequence[Cell],
    records: Sequence[Record],
    suites: Sequence[str],
    conditions: Sequence[str],
    header: str,
) -> str:
    """results.md: the accuracy table, the details table and the errors."""
    parts = [
        header,
        "## Accuracy (95% Wilson interval)",
        accuracy_table(cells, suites, conditions),
        "## Details (latency and tokens per item; tokens are the LLM's, in and out)",
        details_table(cells),
    ]
    errors = error_summary(records)
    if errors:
        parts += ["## Errors", "\n".join(f"- {line}" for line in errors)]
    return "\n\n".join(parts) + "\n"


def plot_accuracy(
    cells: Sequence[Cell], suites: Sequence[str], conditions: Sequence[str], path: Path
) -> Path:
    """Grouped bars: accuracy by suite, one bar per condition, Wilson intervals as whiskers,
    each bar labelled with its value; "n/a" where a condition does not apply."""
    by_key = {(c.suite, c.condition): c for c in cells}
    width = 0.8 / max(1, len(conditions))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.8 * len(suites) + 2), 4.2))
    for i, condition in enumerate(conditions):
        offset = (i - (len(conditions) - 1) / 2) * width
        shown = [(s, by_key[suite, condition]) for s, suite in enumerate(suites)]
        scored = [(s, cell) for s, cell in shown if cell.accuracy is not None]
        heights = [100 * cell.accuracy for _, cell in scored]
        whiskers = [
            [100 * (cell.accuracy - cell.ci_low) for _, cell in scored],
            [100 * (cell.ci_high - cell.accuracy) for _, cell in scored],
        ]
        bars = ax.bar(
            [s + offset for s, _ in scored],
            heights,
            width,
            label=condition,
            yerr=whiskers,
            capsize=3,
            ecolor="0.45",
        )
        ax.bar_label(bars, labels=[f"{h:.0f}%" for h in heights], fontsize=7, padding=1)
        for s, cell in shown:
            if cell.accuracy is None:
                ax.text(s + offset, 1, "n/a", ha="center", fontsize=7, color="0.4")
    ax.set_xticks(range(len(suites)), suites)
    ax.set_xlim(-0.5, len(suites) - 0.5)
    ax.set_ylim(0, 122)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy by condition and suite (95% Wilson interval)")
    ax.legend(ncols=min(4, len(conditions)), loc="upper center", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


EXAMPLE_COLUMNS = (("puzzle", None), ("LLM alone", "llm"), ("LLM + TRM", "llm+trm"))
MAX_PANEL_LINES = 34
MAX_PANEL_COLUMNS = 64


def _panel_text(text: str) -> str:
    """Text fitted to a panel: long lines wrapped, and of a long text the end (where the
    answer that is scored stands), at most MAX_PANEL_LINES lines."""
    lines = [
        part
        for line in text.strip().splitlines() or ["(empty)"]
        for part in (
            textwrap.wrap(line, MAX_PANEL_COLUMNS) if len(line) > MAX_PANEL_COLUMNS else [line]
        )
    ]
    if len(lines) > MAX_PANEL_LINES:
        hidden = len(lines) - MAX_PANEL_LINES + 1
        lines = [f"({hidden} earlier lines) ...", *lines[hidden:]]
    return "\n".join(lines)


def _verdict(record: Record) -> str:
    """How an answer fared, and which tools it called: "wrong, called solve_maze"."""
    if record.correct:
        verdict = "correct"
    elif record.status == "ok":
        verdict = "wrong"
    else:
        verdict = record.status.replace("_", " ")
    tools = ", ".join(dict.fromkeys(call.name for call in record.tool_calls))
    return f"{verdict}, called {tools}" if tools else verdict


def pick_examples(records: Sequence[Record], n: int = 3) -> list[dict[str, Record]]:
    """Up to n items that ran under both LLM conditions, one per suite first, preferring
    items the TRM tool turned from wrong into right."""
    by_item: dict[tuple[str, str], dict[str, Record]] = {}
    for r in latest(records):
        by_item.setdefault((r.suite, r.item_id), {})[r.condition] = r
    both = [v for v in by_item.values() if all(c in v for c in LLM_CONDITIONS)]
    both.sort(key=lambda v: not (v["llm+trm"].correct and not v["llm"].correct))
    first_per_suite: dict[str, dict[str, Record]] = {}
    for example in both:
        first_per_suite.setdefault(example["llm"].suite, example)
    chosen = list(first_per_suite.values())[:n]
    return chosen + [v for v in both if v not in chosen][: n - len(chosen)]


def plot_examples(records: Sequence[Record], path: Path, n: int = 3) -> Path | None:
    """Rows of monospace panels: puzzle | LLM alone | LLM + TRM; None if there is nothing to
    show (no item ran under both LLM conditions)."""
    examples = pick_examples(records, n)
    if not examples:
        return None
    fig, axes = plt.subplots(
        len(examples), len(EXAMPLE_COLUMNS), figsize=(15, 5.2 * len(examples)), squeeze=False
    )
    for row, example in zip(axes, examples):
        first = example["llm"]
        for ax, (title, condition) in zip(row, EXAMPLE_COLUMNS):
            ax.axis("off")
            if condition is None:
                heading, text = f"{first.suite} {first.item_id}", first.question
            else:
                record = example[condition]
                heading, text = f"{title}: {_verdict(record)}", record.answer or record.error or ""
            ax.set_title(heading, fontsize=10, loc="left")
            ax.text(0, 1, _panel_text(text), family="monospace", fontsize=6.5, va="top")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    run_dir: Path,
    records: Sequence[Record],
    suites: Sequence[str],
    conditions: Sequence[str],
    meta: dict[str, Any],
) -> str:
    """Write results.md, results.json, accuracy.png and examples.png; return the markdown."""
    cells = summarize(records, suites, conditions)
    header = "# Evaluation results\n\n" + "\n".join(
        f"- {key}: {value}" for key, value in meta.items() if not isinstance(value, dict)
    )
    markdown = markdown_report(cells, records, suites, conditions, header)
    (run_dir / "results.md").write_text(markdown, encoding="utf-8")
    payload = {"meta": meta, "cells": [cell.model_dump() for cell in cells]}
    (run_dir / "results.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    plot_accuracy(cells, suites, conditions, run_dir / "accuracy.png")
    plot_examples(records, run_dir / "examples.png")
    return markdown
