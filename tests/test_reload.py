from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from guardrails import Engine
from guardrails.reload import LiveEngine

POLICY = "version: 1\nname: v{n}\nsteps:\n  - {{id: words, kind: keywords, words: [{word}]}}\n"


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(n=1, word="apple"))
    return path


def test_reload_swaps_engine_and_keeps_old_on_broken_edit(policy_file):
    live = LiveEngine(policy_file)
    assert live.engine.check("an apple").blocked
    policy_file.write_text(POLICY.format(n=2, word="pear"))
    assert live.reload() is True
    assert live.engine.policy.name == "v2" and live.generation == 1
    assert live.engine.check("an apple").allowed and live.engine.check("a pear").blocked

    policy_file.write_text(
        "version: 1\nname: v3\nsteps:\n  - {id: x, kind: pii, entities: [emial]}\n"
    )
    assert live.reload() is False
    assert live.engine.policy.name == "v2"  # the old policy stays in force
    assert f"{policy_file}:4: step 'x'" in live.last_error


async def test_watch_reloads_on_file_change(policy_file):
    seen = []
    live = LiveEngine(policy_file, on_reload=lambda engine: seen.append(engine.policy.name))
    stop = asyncio.Event()
    task = asyncio.create_task(live.watch(stop))
    await asyncio.sleep(0.5)  # let the watcher start
    tmp = policy_file.with_suffix(".tmp")
    tmp.write_text(POLICY.format(n=2, word="pear"))
    os.replace(tmp, policy_file)  # how editors save
    for _ in range(100):
        if live.generation:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert seen == ["v2"]
    assert live.engine.check("a pear").blocked


def test_sighup_reloads(policy_file):
    live = LiveEngine(policy_file)
    previous = signal.getsignal(signal.SIGHUP)
    try:
        live.install_sighup()
        policy_file.write_text(POLICY.format(n=2, word="pear"))
        os.kill(os.getpid(), signal.SIGHUP)
        assert live.engine.policy.name == "v2"
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_watched_paths_include_word_lists(tmp_path):
    (tmp_path / "words.txt").write_text("apple\n")
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nname: w\nsteps:\n  - {id: w, kind: keywords, words_file: words.txt}\n"
    )
    assert set(LiveEngine(path).watched_paths()) == {path, tmp_path / "words.txt"}


def _wait_for(condition, seconds: float = 5.0) -> bool:
    """Read the engine (which looks at the files) until ``condition()`` or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_path_made_live_engine_reloads_when_read_after_an_edit(policy_file):
    live = LiveEngine(policy_file, reload_interval=0.05)
    assert live.engine.check("an apple").blocked
    policy_file.write_text(POLICY.format(n=2, word="pears"))
    assert _wait_for(lambda: live.engine.policy.name == "v2")
    assert live.generation == 1 and live.engine.check("some pears").blocked

    policy_file.write_text(
        "version: 1\nname: v3\nsteps:\n  - {id: x, kind: pii, entities: [emial]}\n"
    )
    assert _wait_for(lambda: live.engine is not None and live.last_error is not None)
    assert live.engine.policy.name == "v2" and f"{policy_file}:4: step 'x'" in live.last_error
    time.sleep(0.2)  # the broken file is not loaded again and again while it stays broken
    assert live.generation == 1

    tmp = policy_file.with_suffix(".tmp")
    tmp.write_text(POLICY.format(n=4, word="plum"))
    os.replace(tmp, policy_file)  # how editors save: a new file renamed over the old one
    assert _wait_for(lambda: live.engine.policy.name == "v4")
    assert live.last_error is None and live.generation == 2


def test_a_word_list_the_policy_names_is_looked_at_too(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("apple\n")
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nname: w\nsteps:\n  - {id: w, kind: keywords, words_file: words.txt}\n"
    )
    live = LiveEngine(path, reload_interval=0.05)
    assert live.engine.check("a plum").allowed
    words.write_text("apple\nplum\n")
    assert _wait_for(lambda: live.engine.check("a plum").blocked)


def test_no_look_at_the_files_without_a_reload_interval_or_for_a_given_engine(policy_file):
    fixed = LiveEngine(policy_file, reload_interval=None)
    given = LiveEngine(Engine.from_path(policy_file))
    policy_file.write_text(POLICY.format(n=2, word="pears"))
    assert not _wait_for(
        lambda: fixed.engine.policy.name == "v2" or given.engine.policy.name == "v2", 0.3
    )
    assert fixed.reload() and fixed.engine.policy.name == "v2"  # reload() still works
    with pytest.raises(ValueError, match="reload_interval"):
        LiveEngine(policy_file, reload_interval=0)


def test_sighup_also_reopens_what_it_is_given(policy_file, tmp_path):
    from guardrails.audit import AuditLog
    from guardrails.decision import Decision, Verdict

    live = LiveEngine(policy_file)
    log = tmp_path / "audit.jsonl"
    audit = AuditLog(log)
    previous = signal.getsignal(signal.SIGHUP)
    try:
        live.install_sighup(also=audit.reopen)
        audit.record(Decision(Verdict.ALLOW), route="/a")
        log.rename(tmp_path / "audit.jsonl.1")  # what logrotate does
        os.kill(os.getpid(), signal.SIGHUP)
        audit.record(Decision(Verdict.ALLOW), route="/b")
    finally:
        signal.signal(signal.SIGHUP, previous)
        audit.close()
    assert '"/a"' in (tmp_path / "audit.jsonl.1").read_text()
    assert '"/b"' in log.read_text() and '"/a"' not in log.read_text()


def test_audit_records_name_the_policy_in_force(policy_file, tmp_path):
    import io
    import json

    from guardrails.audit import AuditLog, decision_recorder

    live = LiveEngine(policy_file, reload_interval=None)
    stream = io.StringIO()
    record = decision_recorder(AuditLog(stream), policy=live)
    record(live.engine.check("hello"), "/chat")
    policy_file.write_text(POLICY.format(n=2, word="pear"))
    live.reload()
    record(live.engine.check("hello"), "/chat")
    first, second = (json.loads(line)["policy_sha256"] for line in stream.getvalue().splitlines())
    assert first and second and first != second
    assert second == live.engine.policy.digest
