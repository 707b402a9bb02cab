"""What the policy subcommands of ``guardrails`` share: exit codes, the failure, the engine.

The exit codes are listed in :mod:`guardrails.cli`. A subcommand raises :class:`_Failure` with
one of them; ``guardrails.cli.main`` prints its message and exits with its code.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXIT_CONFIG", "EXIT_INPUT", "EXIT_USAGE"]

EXIT_USAGE, EXIT_CONFIG, EXIT_INPUT = 3, 4, 5


class _Failure(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


_OPEN: list[Any] = []


def _engine(policy_path: str) -> Any:
    """The engine of a policy file, closed by :func:`close_engines` when the command ends."""
    from guardrails.engine import Engine

    engine = Engine.from_path(policy_path)
    _OPEN.append(engine)
    return engine


def close_engines() -> None:
    """Stop the model threads of every engine a command made: a process that exits with them
    still running can abort in native code (exit 134) after printing the right answer."""
    while _OPEN:
        _OPEN.pop().close()
