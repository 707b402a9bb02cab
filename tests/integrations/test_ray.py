"""Moderation of a Ray Dataset on a local Ray instance (2 CPUs, no dashboard)."""

from __future__ import annotations

import json

import pytest
import ray  # the ray extra; `make test` installs it

from guardrails import PolicyError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_dataset_gets_decision_columns(local_ray, root):
    from guardrails.integrations.ray import moderate_dataset

    rows = [
        {"id": 1, "text": "hello there"},
        {"id": 2, "text": "mail me at a.b@example.com"},
        {"id": 3, "text": "key AKIAIOSFODNN7EXAMPLE"},
    ] * 20
    ds = ray.data.from_items(rows)
    out = moderate_dataset(ds, root / "policies/default.yaml", batch_size=16).take_all()
    out.sort(key=lambda r: r["id"])
    by_id = {r["id"]: r for r in out}
    assert len(out) == 60
    assert by_id[1]["guardrails_verdict"] == "allow"
    assert by_id[2]["guardrails_verdict"] == "flag"
    assert by_id[2]["guardrails_redacted_text"] == "mail me at [EMAIL]"
    assert by_id[3]["guardrails_verdict"] == "block" and by_id[3]["guardrails_steps"] == "secrets"
    decision = json.loads(by_id[3]["guardrails_decision"])
    assert "AKIAIOSFODNN7EXAMPLE" not in by_id[3]["guardrails_decision"]
    assert decision["findings"][0]["label"] == "aws_access_key"


def test_broken_policy_fails_on_the_driver(tmp_path):
    from guardrails.integrations.ray import moderate_dataset

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nsteps:\n  - {id: p, kind: pii, entities: [emial]}\n")
    with pytest.raises(PolicyError, match=r"bad\.yaml:4"):
        moderate_dataset(object(), bad)
