"""Hot reload: the current Engine of a policy file, swapped when the file (or a file it names)
changes on disk or the process gets SIGHUP. A new policy that does not load is reported and the
old one stays in force: a typo in production never turns moderation off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from guardrails.engine import Engine
from guardrails.errors import GuardrailsError

__all__ = ["LiveEngine"]

logger = logging.getLogger("guardrails.reload")

_GRACE_SECONDS = 30.0  # an old engine's private loop outlives in-flight sync calls


class LiveEngine:
    """Holds the current :class:`Engine`; read :attr:`engine` per request, never keep it."""

    def __init__(
        self,
        policy: str | os.PathLike[str] | Engine,
        *,
        on_reload: Callable[[Engine], None] | None = None,
    ) -> None:
        if isinstance(policy, Engine):
            self._engine = policy
            source = policy.policy.source
            self.path = source.path if source is not None else None
        else:
            self.path = Path(policy)
            self._engine = Engine.from_path(self.path)
        self.on_reload = on_reload
        self.generation = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return self._engine

    def watched_paths(self) -> list[Path]:
        """The policy file and every file or model directory its steps name."""
        if self.path is None:
            return []
        source = self._engine.policy.source
        base = source.base_dir if source is not None else self.path.parent
        paths = [self.path]
        for step in self._engine.policy.steps:
            for attr in ("words_file", "model"):
                value = getattr(step, attr, None)
                if isinstance(value, str) and value:
                    candidate = Path(value) if Path(value).is_absolute() else base / value
                    if candidate.exists():
                        paths.append(candidate)
        return paths

    def reload(self) -> bool:
        """Load the policy again. True if the new one is in force; False (old one kept) if not."""
        if self.path is None:
            return False
        with self._lock:
            try:
                fresh = Engine.from_path(self.path)
            except GuardrailsError as exc:
                self.last_error = str(exc)
                logger.error("policy %s not reloaded, the previous one stays: %s", self.path, exc)
                return False
            old, self._engine = self._engine, fresh
            self.generation += 1
            self.last_error = None
        timer = threading.Timer(_GRACE_SECONDS, old.close)
        timer.daemon = True
        timer.start()
        logger.info("policy %s reloaded (generation %d)", self.path, self.generation)
        if self.on_reload is not None:
            self.on_reload(fresh)
        return True

    async def watch(self, stop_event: asyncio.Event | None = None) -> None:
        """Reload whenever a watched file changes, until ``stop_event`` is set.

        Parent directories are watched, not the files: editors save by writing a new file and
        renaming it over the old one, which a watch on the old file would miss.
        """
        from watchfiles import awatch

        paths = self.watched_paths()
        if not paths:
            return
        targets = {p.resolve() for p in paths}
        folders = {p if p.is_dir() else p.parent for p in targets}
        async for changes in awatch(*folders, stop_event=stop_event, debounce=200):
            touched = {Path(path).resolve() for _, path in changes}
            if any(t == p or p in t.parents for t in touched for p in targets):
                await asyncio.to_thread(self.reload)
                targets = {p.resolve() for p in self.watched_paths()}

    def install_sighup(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Reload on SIGHUP (POSIX; call from the main thread)."""
        if not hasattr(signal, "SIGHUP"):
            return
        if loop is not None:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, self.reload))
        else:
            signal.signal(signal.SIGHUP, lambda signum, frame: self.reload())
