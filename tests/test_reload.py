from __future__ import annotations

import asyncio
import os
import signal

import pytest

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
