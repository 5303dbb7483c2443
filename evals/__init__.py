"""Evaluations: LLM alone vs LLM routed to the TRM tool, on Sudoku, mazes and ARC-AGI.
Run `python evals/run.py --help`; docs/evals.md has the method and results."""
