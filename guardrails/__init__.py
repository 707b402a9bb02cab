"""guardrails: content-moderation middleware for Python web apps and LLM calls.

A YAML policy chains cheap rule checks with ML classifier layers and returns one
:class:`Decision` per piece of content::

    from guardrails import Engine
    engine = Engine.from_path("policies/default.yaml")
    decision = engine.check("mail me at a.b@example.com")
    decision.verdict, decision.redacted_text   # Verdict.FLAG, 'mail me at [EMAIL]'

Importing this package imports no ML library; models load only when a policy asks for them.
"""

from guardrails.decision import Action, Decision, Direction, Finding, Verdict
from guardrails.engine import Engine
from guardrails.errors import (
    ContentBlocked,
    DatasetError,
    GuardrailsError,
    InputError,
    MissingDependency,
    ModelLoadError,
    PolicyError,
)
from guardrails.policy.loader import load_policy, policy_from_string
from guardrails.policy.schema import Policy

__version__ = "0.1.0"

_LAZY = {
    "GuardrailsMiddleware": "guardrails.middleware:GuardrailsMiddleware",
    "LiveEngine": "guardrails.reload:LiveEngine",
    "guard": "guardrails.decorator:guard",
}


def __getattr__(name: str) -> object:
    """The serving parts import on first use, so ``import guardrails`` stays light."""
    if name in _LAZY:
        import pkgutil

        value = pkgutil.resolve_name(_LAZY[name])
        globals()[name] = value
        return value
    raise AttributeError(f"module 'guardrails' has no attribute {name!r}")


__all__ = [
    "Action",
    "ContentBlocked",
    "DatasetError",
    "Decision",
    "Direction",
    "Engine",
    "Finding",
    "GuardrailsError",
    "GuardrailsMiddleware",
    "InputError",
    "LiveEngine",
    "MissingDependency",
    "ModelLoadError",
    "Policy",
    "PolicyError",
    "Verdict",
    "__version__",
    "guard",
    "load_policy",
    "policy_from_string",
]
