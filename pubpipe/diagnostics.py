"""Diagnostics in the one format every stage uses: `path:line: error: message [check]`.

Stages collect problems instead of raising on the first one, so a person
sees everything that is wrong in one run; the command line prints them and
sets the exit code. The library never prints or exits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    severity: str  # "error" or "warning"
    message: str
    check: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message} [{self.check}]"

    def github_annotation(self) -> str:
        message = self.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{self.severity} file={self.path},line={self.line},title={self.check}::{message}"


class PipelineError(Exception):
    """Raised by a stage with every problem it found; the CLI prints them all."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} problem(s)")
        self.diagnostics = diagnostics


def error(path: str | Path, line: int, message: str, check: str) -> Diagnostic:
    return Diagnostic(display_path(path), line, "error", message, check)


def warning(path: str | Path, line: int, message: str, check: str) -> Diagnostic:
    return Diagnostic(display_path(path), line, "warning", message, check)


def display_path(path: str | Path) -> str:
    """Paths relative to the working directory when possible, as compilers print them."""
    path = Path(path)
    try:
        return os.path.relpath(path) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)


def raise_if_errors(diagnostics: list[Diagnostic]) -> None:
    if any(d.severity == "error" for d in diagnostics):
        raise PipelineError(diagnostics)
