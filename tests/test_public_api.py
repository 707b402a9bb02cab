from __future__ import annotations

import subprocess
import sys
import types

import guardrails


def test_all_is_honest():
    exported = set(guardrails.__all__)
    public = {
        name
        for name, value in vars(guardrails).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= exported | {"annotations"}
    for name in exported:
        assert hasattr(guardrails, name), name


def test_importing_guardrails_imports_no_ml_library():
    code = (
        "import sys, guardrails; from guardrails import Engine; "
        "Engine.from_path('policies/default.yaml').check('hi'); "
        "print(sorted(m for m in ('torch', 'transformers', 'hnswlib', 'safetensors') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]),
    ).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_error_tree():
    from guardrails import errors

    for name in ("PolicyError", "DatasetError", "ModelLoadError", "InputError", "ContentBlocked"):
        assert issubclass(getattr(errors, name), errors.GuardrailsError)
    assert issubclass(errors.MissingDependency, ImportError)
