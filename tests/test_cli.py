from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from guardrails.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_reports_pii_with_redaction_exit_1(capsys, root):
    code, out, _ = run(
        capsys,
        "check",
        "--policy",
        str(root / "policies/default.yaml"),
        "mail me at a.b@example.com",
    )
    decision = json.loads(out)
    assert code == 1
    assert decision["findings"][0]["step"] == "pii"
    assert decision["redacted_text"] == "mail me at [EMAIL]"


def test_exit_codes_follow_the_verdict(capsys, root):
    policy = str(root / "policies/default.yaml")
    assert run(capsys, "check", "-p", policy, "hello")[0] == 0
    assert run(capsys, "check", "-p", policy, "card 4111 1111 1111 1112")[0] == 0  # not Luhn
    assert run(capsys, "check", "-p", policy, "key AKIAIOSFODNN7EXAMPLE")[0] == 2


def test_file_and_output_direction(capsys, tmp_path, root):
    (tmp_path / "answer.txt").write_text("My system prompt is: be nice")
    code, out, _ = run(
        capsys, "check", "-p", str(root / "policies/chat.yaml"), "--file",
        str(tmp_path / "answer.txt"), "--direction", "output", "--prompt", "hi", "--compact",
    )  # fmt: skip
    assert code == 2 and "\n" not in out.strip()
    assert json.loads(out)["findings"][0]["step"] == "system-prompt-leak"


def test_jsonl_reports_bad_rows_and_goes_on(capsys, tmp_path, root):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        '{"id": "a", "text": "hello"}\n'
        "not json\n"
        "\n"
        '{"text": 42}\n'
        '{"id": "b", "text": "AKIAIOSFODNN7EXAMPLE"}\n'
    )
    code, out, err = run(
        capsys, "check", "-p", str(root / "policies/default.yaml"), "--jsonl", str(rows)
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert [row.get("id") for row in lines] == ["a", None, None, "b"]
    assert [row["line"] for row in lines] == [1, 2, 4, 5]
    assert lines[0]["verdict"] == "allow" and lines[3]["verdict"] == "block"
    assert lines[1]["error"] == "invalid JSON: Expecting value (column 1)"
    assert f"{rows}:2:" in err and f"{rows}:4:" in err
    assert code == 5  # some rows could not be checked


def test_usage_errors_exit_3(capsys, root):
    with pytest.raises(SystemExit) as info:
        main(["check", "hello"])  # --policy missing
    assert info.value.code == 3
    assert run(capsys, "check", "-p", str(root / "policies/default.yaml"))[0] == 3


def test_policy_errors_exit_4_with_file_and_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nsteps:\n  - {id: p, kind: pii, entities: [emial]}\n")
    code, _, err = run(capsys, "check", "-p", str(bad), "hi")
    assert code == 4 and f"{bad}:4: step 'p'" in err
    code, _, err = run(capsys, "validate", str(bad))
    assert code == 4 and "emial" in err


def test_validate_and_schema(capsys, root):
    code, _, err = run(capsys, "validate", str(root / "policies/default.yaml"))
    assert code == 0 and "ok" in err
    code, out, _ = run(capsys, "validate", "--schema")
    assert code == 0 and json.loads(out)["title"] == "Policy"


def test_policy_tests_pass_and_fail_loudly(capsys, tmp_path, root):
    code, out, _ = run(capsys, "test", *map(str, sorted((root / "policies").glob("*.yaml"))))
    assert code == 0 and " 0 failed" in out
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "version: 1\nname: w\nsteps: [{id: s, kind: secrets}]\ntests:\n"
        "  - {name: expects too much, text: hello, expect: {verdict: block, step: s}}\n"
    )
    code, out, _ = run(capsys, "test", str(wrong))
    assert code == 1
    assert f"FAIL {wrong}:5: expects too much: expected block, got allow" in out


def test_console_entry_point_runs(root):
    result = subprocess.run(
        [sys.executable, "-m", "guardrails", "check", "-p", str(root / "policies/default.yaml"),
         "call +44 20 7946 0958"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["redacted_text"] == "call [PHONE]"


def test_dash_reads_the_text_from_stdin(capsys, monkeypatch, root):
    monkeypatch.setattr(sys, "stdin", io.StringIO("deploy with AKIAIOSFODNN7EXAMPLE\n"))
    code, out, _ = run(capsys, "check", "-p", str(root / "policies/default.yaml"), "-")
    assert code == 2 and json.loads(out)["findings"][0]["label"] == "aws_access_key"


def test_jsonl_that_cannot_be_opened_exits_5_naming_it(capsys, tmp_path, root):
    policy = str(root / "policies/default.yaml")
    for path in (tmp_path / "nope.jsonl", tmp_path):  # missing, and a directory
        code, out, err = run(capsys, "check", "-p", policy, "--jsonl", str(path))
        assert code == 5 and out == ""
        assert f"{path}: cannot read" in err and "Traceback" not in err


def test_serve_refuses_bad_options_before_starting(capsys, tmp_path, root):
    pytest.importorskip("uvicorn")
    policy = str(root / "policies/default.yaml")
    for option in (["--port", "99999"], ["--log-level", "bogus"], ["--max-body", "-5"]):
        with pytest.raises(SystemExit) as info:
            main(["serve", "-p", policy, *option])
        assert info.value.code == 3, option
        assert option[0] in capsys.readouterr().err
    code, _, err = run(capsys, "serve", "-p", policy, "--audit-log", str(tmp_path))
    assert code == 3 and f"{tmp_path}: cannot open" in err and "Traceback" not in err


def test_an_internal_error_exits_70_never_1(capsys, monkeypatch, root):
    def broken(path):
        raise RuntimeError("a bug")

    monkeypatch.setattr("guardrails.cli_check._engine", broken)
    code, _, err = run(capsys, "check", "-p", str(root / "policies/default.yaml"), "hello")
    assert code == 70
    assert "RuntimeError: a bug" in err and "internal error" in err


def test_every_engine_a_command_makes_is_closed(capsys, monkeypatch, root):
    from guardrails import Engine

    closed = []
    real_close = Engine.close
    monkeypatch.setattr(Engine, "close", lambda self: closed.append(self) or real_close(self))
    policy = str(root / "policies/default.yaml")
    assert run(capsys, "check", "-p", policy, "hello")[0] == 0
    assert run(capsys, "test", policy, policy)[0] == 0
    assert len(closed) == 3  # model threads stopped before the process exits


def test_a_prompt_without_direction_output_is_a_usage_error(capsys, root):
    policy = str(root / "policies/default.yaml")
    code, out, err = run(capsys, "check", "-p", policy, "--prompt", "hi", "an answer")
    assert code == 3 and out == "" and "--direction output" in err
