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


def _engine(policy_path: str) -> Any:
    from guardrails.engine import Engine

    return Engine.from_path(policy_path)
