"""Hot reload: the current Engine of a policy file, swapped when the file (or a file it names)
changes on disk or the process gets SIGHUP. A new policy that does not load is reported and the
old one stays in force: a typo in production never turns moderation off.

Three ways to notice a change: :meth:`LiveEngine.watch` (watchfiles, for a process that owns its
event loop, like ``guardrails serve``); SIGHUP; and, for a ``LiveEngine`` made from a path, a
look at the files' ``stat`` at most every ``reload_interval`` seconds when :attr:`~LiveEngine.
engine` is read. That last one needs no watcher (task, thread or event loop), so it works under
any ASGI server, in sync code and after a fork: the middleware and ``@guard`` rely on it. A
changed policy loads in a background thread while the old one keeps answering.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from guardrails.engine import Engine
from guardrails.errors import GuardrailsError

__all__ = ["LiveEngine"]

logger = logging.getLogger("guardrails.reload")

_GRACE_SECONDS = 30.0  # an old engine's private loop outlives in-flight sync calls

RELOAD_INTERVAL = 1.0
"""Seconds between two looks at a path-made ``LiveEngine``'s files (on access)."""

_MAX_FILES = 256  # files of a model directory looked at (a saved classifier has a handful)


class LiveEngine:
    """Holds the current :class:`Engine`; read :attr:`engine` per request, never keep it.

    Made from a path, it looks at the ``stat`` of the policy file and of every file it names
    at most every ``reload_interval`` seconds, when :attr:`engine` is read, and reloads in a
    background thread when one changed (``None``: only :meth:`reload`, :meth:`watch` and
    SIGHUP reload). An :class:`Engine` given is kept until one of those is called.
    """

    def __init__(
        self,
        policy: str | os.PathLike[str] | Engine,
        *,
        on_reload: Callable[[Engine], None] | None = None,
        reload_interval: float | None = RELOAD_INTERVAL,
    ) -> None:
        if reload_interval is not None and not reload_interval > 0:
            raise ValueError(f"reload_interval must be > 0 seconds or None: {reload_interval!r}")
        self._signature: tuple[tuple[object, ...], ...] = ()
        if isinstance(policy, Engine):
            self._engine = policy
            source = policy.policy.source
            self.path = source.path if source is not None else None
            reload_interval = None
        else:
            self.path = Path(policy)
            before = _signature([self.path])  # an edit made during the load is a change
            self._engine = Engine.from_path(self.path)
            self._signature = _settled(before, self.watched_paths())
        self.on_reload = on_reload
        self.reload_interval = reload_interval
        self.generation = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._polling = threading.Lock()  # held while a look or a background reload runs
        self._next_look = time.monotonic() + (reload_interval or 0.0)

    @property
    def engine(self) -> Engine:
        if self.reload_interval is not None and time.monotonic() >= self._next_look:
            self._look()
        return self._engine

    def _look(self) -> None:
        """Reload in a background thread if a watched file changed since the last load."""
        if not self._polling.acquire(blocking=False):
            return  # another caller is looking, or a reload is running
        reloading = False
        try:
            self._next_look = time.monotonic() + (self.reload_interval or 0.0)
            if _signature(self.watched_paths()) != self._signature:
                threading.Thread(
                    target=self._reload_then_release, name="guardrails-reload", daemon=True
                ).start()
                reloading = True
        finally:
            if not reloading:
                self._polling.release()

    def _reload_then_release(self) -> None:
        try:
            self.reload()
        finally:
            self._next_look = time.monotonic() + (self.reload_interval or 0.0)
            self._polling.release()

    def watched_paths(self) -> list[Path]:
        """The policy file and every file or model directory its steps name."""
        return self._paths(self._engine)

    def _paths(self, engine: Engine) -> list[Path]:
        if self.path is None:
            return []
        source = engine.policy.source
        base = source.base_dir if source is not None else self.path.parent
        paths = [self.path]
        for step in engine.policy.steps:
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
            # Taken before loading, so that an edit made during the load is a change at the
            # next look; a policy that fails to load is not tried again until it changes.
            before = _signature(self.watched_paths())
            try:
                fresh = Engine.from_path(self.path)
            except Exception as exc:  # not only GuardrailsError: nothing may stop moderation
                self._signature = before
                self.last_error = str(exc) if isinstance(exc, GuardrailsError) else repr(exc)
                logger.error(
                    "policy %s not reloaded, the previous one stays: %s", self.path, self.last_error
                )
                return False
            self._signature = _settled(before, self._paths(fresh))
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

    def install_sighup(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        also: Callable[[], None] | None = None,
    ) -> None:
        """Reload on SIGHUP (POSIX; call from the main thread), and call ``also`` (e.g. reopen
        a log that logrotate moved: one handler per signal, so both go here)."""
        if not hasattr(signal, "SIGHUP"):
            return

        def hangup() -> None:
            if also is not None:
                also()
            self.reload()

        if loop is not None:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, hangup))
        else:
            signal.signal(signal.SIGHUP, lambda signum, frame: hangup())


def _settled(
    before: tuple[tuple[object, ...], ...], paths: Iterable[Path]
) -> tuple[tuple[object, ...], ...]:
    """The signature of ``paths`` just after a load, if the policy file is as it was when the
    load began (``before``); else ``()``, so that the next look sees a change and loads again."""
    after = _signature(paths)
    return after if after[0] == before[0] else ()


def _signature(paths: Iterable[Path]) -> tuple[tuple[object, ...], ...]:
    """What says a file changed: inode, size and modification time of each path (for a
    directory, of each file in it too); a path that cannot be read is ``(path,)``."""
    marks: list[tuple[object, ...]] = []
    for path in paths:
        try:
            stat = path.stat()
            marks.append((str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns))
            if path.is_dir():
                for count, child in enumerate(sorted(path.rglob("*"))):
                    if count >= _MAX_FILES:
                        break
                    stat = child.stat()
                    marks.append((str(child), stat.st_ino, stat.st_size, stat.st_mtime_ns))
        except OSError:
            marks.append((str(path),))
    return tuple(marks)
