"""Exceptions that carry a user-facing message (exit code 2 on the command line)."""

from __future__ import annotations


class PhysgenError(ValueError):
    """Bad input: the message names what was wrong and what was expected."""


class DataError(PhysgenError):
    """A data file or array that cannot be used (missing, corrupt, wrong shape, ...)."""


class CheckpointError(PhysgenError):
    """A run directory or checkpoint that cannot be read or written."""


class NonFiniteError(PhysgenError):
    """Training produced a NaN or infinite loss or parameter."""
