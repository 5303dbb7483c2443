"""The library's error for checkpoints, below every module that reads one.

checkpoint.py reads our own format and official_weights.py the official TRM code's; both
raise this, and neither has to import the other to do so."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupted, or does not match its model card."""
