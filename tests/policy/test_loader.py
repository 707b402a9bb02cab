from __future__ import annotations

import json
import textwrap

import pytest

from guardrails import Engine, PolicyError, load_policy, policy_from_string
from guardrails.policy.schema import Policy


def problems_of(tmp_path, text: str) -> list[str]:
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(PolicyError) as info:
        Engine.from_path(path)
    return list(info.value.problems)


def test_valid_policy_loads_from_path_and_string(tmp_path):
    text = "version: 1\nname: demo\nsteps:\n  - {id: pii, kind: pii}\n"
    (tmp_path / "p.yaml").write_text(text)
    assert load_policy(tmp_path / "p.yaml").steps[0].id == "pii"
    policy = policy_from_string(text)
    assert policy.name == "demo"
    assert policy.defaults.on_error == "fail_closed"


def test_unknown_entity_names_file_line_step_and_value(tmp_path):
    problems = problems_of(
        tmp_path,
        """\
        version: 1
        name: x
        steps:
          - id: secrets
            kind: secrets
          - id: pii
            kind: pii
            entities: [email, emial]
        """,
    )
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'p.yaml'}:8: step 'pii': ")
    assert "'emial'" in problems[0]


def test_typo_in_field_suggests_the_right_one(tmp_path):
    (problem,) = problems_of(
        tmp_path,
        """\
        version: 1
        name: x
        steps:
          - id: size
            kind: length
            max_char: 10
        """,
    )
    assert ":6: step 'size': unknown field 'max_char' (did you mean 'max_chars'?)" in problem


def test_unknown_kind_and_missing_kind(tmp_path):
    problems = problems_of(
        tmp_path,
        """\
        version: 1
        name: x
        steps:
          - id: a
            kind: keyword
            words: [x]
          - id: b
            words: [x]
        """,
    )
    assert any(":5: step 'a': unknown kind 'keyword'" in p for p in problems)
    assert any(":7: step 'b': missing field 'kind'" in p for p in problems)


@pytest.mark.parametrize(
    "pattern, reason",
    [
        (r"(a)\\1", "backreferences"),
        ("(?=secret)", "lookaround"),
        ("a{1000}{1000}", "bad repetition"),
        ("x*", "empty string"),
    ],
)
def test_patterns_re2_rejects_fail_at_load_with_line(tmp_path, pattern, reason):
    (problem,) = problems_of(
        tmp_path,
        f"""\
        version: 1
        name: x
        steps:
          - id: custom
            kind: regex
            patterns:
              - label: thing
                pattern: "{pattern}"
        """,
    )
    assert ":8: step 'custom':" in problem
    assert reason in problem


def test_yaml_syntax_error_names_the_line(tmp_path):
    (problem,) = problems_of(tmp_path, "version: 1\nname: x\nsteps:\n  - id: [unclosed\n")
    assert problem.startswith(f"{tmp_path / 'p.yaml'}:")
    assert "invalid YAML" in problem


def test_duplicate_keys_and_step_ids_are_errors(tmp_path):
    problems = problems_of(
        tmp_path,
        """\
        version: 1
        name: x
        name: y
        steps: []
        """,
    )
    assert any(":3: duplicate key 'name'" in p for p in problems)
    (problem,) = problems_of(
        tmp_path,
        """\
        version: 1
        name: x
        steps:
          - {id: a, kind: pii}
          - {id: a, kind: secrets}
        """,
    )
    assert ":5: step 'a': step id 'a' is used twice" in problem


def test_missing_words_file_names_the_field_line(tmp_path):
    (problem,) = problems_of(
        tmp_path,
        """\
        version: 1
        name: x
        steps:
          - id: words
            kind: keywords
            words_file: lists/nope.txt
        """,
    )
    assert ":6: step 'words': cannot read words_file" in problem


def test_words_file_resolves_relative_to_the_policy(tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "w.txt").write_text("# comment\nbanana\n\nkiwi  # fruit\n")
    (tmp_path / "p.yaml").write_text(
        "version: 1\nname: x\nsteps:\n  - {id: w, kind: keywords, words_file: lists/w.txt}\n"
    )
    engine = Engine.from_path(tmp_path / "p.yaml")
    assert engine.check("a KIWI here").blocked
    assert engine.check("an apple").allowed


def test_environment_interpolation(tmp_path, monkeypatch):
    text = "version: 1\nname: x\nsteps:\n  - {id: s, kind: length, max_chars: '${MAXC:5}'}\n"
    assert policy_from_string(text).steps[0].max_chars == 5
    monkeypatch.setenv("MAXC", "3")
    assert Engine(policy_from_string(text)).check("abcd").blocked
    with pytest.raises(PolicyError, match=r"<string>:4: step 's': environment variable NOPE"):
        policy_from_string(text.replace("${MAXC:5}", "${NOPE}"))


def test_root_must_be_a_mapping_and_version_known():
    with pytest.raises(PolicyError, match="a policy is a mapping"):
        policy_from_string("- a\n- b\n")
    with pytest.raises(PolicyError, match=r"<string>:1: version"):
        policy_from_string("version: 2\nname: x\n")


def test_test_expecting_an_unknown_step_is_an_error():
    with pytest.raises(PolicyError, match=r":5: .*does not define"):
        policy_from_string(
            "version: 1\nname: x\nsteps: [{id: a, kind: pii}]\ntests:\n"
            "  - {text: hi, expect: {verdict: allow, step: b}}\n"
        )


def test_every_error_is_reported_at_once(tmp_path):
    problems = problems_of(
        tmp_path,
        """\
        version: 1
        name: x
        steps:
          - {id: a, kind: pii, entities: [mail]}
          - {id: b, kind: length}
          - {id: c, kind: urls, allow: ["not a domain"]}
        """,
    )
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in problems] == ["4", "5", "6"]


def test_json_schema_describes_steps():
    schema = Policy.model_json_schema()
    text = json.dumps(schema)
    for kind in ("keywords", "regex", "pii", "secrets", "length", "invisible", "urls"):
        assert f'"{kind}"' in text
    assert "linear-time" in text  # field descriptions make the schema self-documenting


def test_alias_bomb_is_refused_at_once(tmp_path):
    lines = ["version: 1", "name: laughs", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 12):  # 6**12 values once expanded, in a dozen lines
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 6)}]")
    lines.append("steps: [{id: size, kind: length, max_chars: 10}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PolicyError) as info:  # before anything walks the expansion
        load_policy(path)
    assert str(path) in str(info.value) and "aliases expand to more than" in str(info.value)


def test_alias_that_holds_itself_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("version: 1\nname: loop\nsteps: &s [{id: size, kind: length}, *s]\n")
    with pytest.raises(PolicyError, match=r"loop\.yaml:3: an alias refers to the value"):
        load_policy(path)


def test_small_shared_values_through_aliases_still_load(tmp_path):
    path = tmp_path / "shared.yaml"
    path.write_text(
        "version: 1\nname: shared\nsteps:\n"
        "  - {id: a, kind: keywords, words: &words [alpha, beta]}\n"
        "  - {id: b, kind: keywords, words: *words, action: flag}\n"
    )
    engine = Engine.from_path(path)
    assert engine.check("say beta").verdict.value == "block"
