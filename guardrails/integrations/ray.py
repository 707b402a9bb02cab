"""Moderate a Ray Dataset with a policy: the same policy file as everywhere else, applied with
``map_batches`` by a pool of actors, each holding one Engine (models load once per worker).

    import ray
    from guardrails.integrations.ray import moderate_dataset

    ds = ray.data.read_json("s3://bucket/corpus/")           # rows with a "text" column
    moderated = moderate_dataset(ds, "policies/ml.yaml", concurrency=8)
    moderated.filter(lambda row: row["guardrails_verdict"] != "block").write_parquet(...)

Files the policy names (word lists, model directories) resolve against the policy file's folder
on each worker: on a cluster, ship them with the job (``runtime_env={"working_dir": ...}``) or
keep them on a shared file system. Needs the ``ray`` extra: ``pip install
'guardrails-middleware[ray]'``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.engine import Engine
from guardrails.errors import MissingDependency
from guardrails.policy.loader import load_policy, policy_from_string

__all__ = ["ModerateBatch", "moderate_dataset"]

PREFIX = "guardrails_"


class ModerateBatch:
    """The ``map_batches`` callable: one per actor, built once, applied to every batch.

    Adds the columns ``guardrails_verdict``, ``guardrails_steps`` (comma-separated step ids),
    ``guardrails_redacted_text`` (or the original text when nothing was redacted) and
    ``guardrails_decision`` (the whole decision as JSON; findings never hold matched text).
    """

    def __init__(
        self,
        policy_text: str,
        base_dir: str,
        column: str = "text",
        direction: str = "input",
        prompt_column: str | None = None,
    ) -> None:
        self.engine = Engine(policy_from_string(policy_text, base_dir=base_dir, name="policy"))
        self.column = column
        self.direction = direction
        self.prompt_column = prompt_column

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch[self.column]]
        if self.prompt_column is None:
            decisions = self.engine.check_many(texts, direction=self.direction)
        else:
            prompts = [str(p) for p in batch[self.prompt_column]]
            decisions = [
                self.engine.check(t, direction=self.direction, prompt=p)
                for t, p in zip(texts, prompts, strict=True)
            ]
        out = dict(batch)
        out[PREFIX + "verdict"] = np.array([d.verdict.value for d in decisions])
        out[PREFIX + "steps"] = np.array([",".join(d.steps) for d in decisions])
        out[PREFIX + "redacted_text"] = np.array(
            [
                d.redacted_text if d.redacted_text is not None else t
                for d, t in zip(decisions, texts, strict=True)
            ]
        )
        out[PREFIX + "decision"] = np.array([json.dumps(d.to_dict()) for d in decisions])
        return out


def moderate_dataset(
    dataset: Any,
    policy: str | os.PathLike[str],
    *,
    column: str = "text",
    direction: str = "input",
    prompt_column: str | None = None,
    concurrency: int | tuple[int, int] = 1,
    batch_size: int = 256,
    **map_batches_args: Any,
) -> Any:
    """Return ``dataset`` with decision columns added (lazily, as Ray datasets are).

    The policy is validated here, on the driver, so a broken policy fails before any worker
    starts. ``concurrency`` is the number of actors (or a ``(min, max)`` autoscaling range).
    """
    try:
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("ray", "Moderating a Ray Dataset", exc) from exc
    path = Path(policy)
    Engine(load_policy(path))  # fail fast, with file:line, before shipping it
    return dataset.map_batches(
        ModerateBatch,
        fn_constructor_kwargs={
            "policy_text": path.read_text(encoding="utf-8"),
            "base_dir": str(path.resolve().parent),
            "column": column,
            "direction": direction,
            "prompt_column": prompt_column,
        },
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=concurrency,
        **map_batches_args,
    )
