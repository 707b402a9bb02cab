"""Step configs: one pydantic model per ``kind``, each field described for the JSON Schema.

These are pure data: validating a policy imports no check implementation and no ML library.
The implementations are resolved from ``kind`` in :mod:`guardrails.rules` when an engine is built.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrails.policy.step_base import ErrorMode, MLStepBase, StepBase, Threshold

__all__ = [
    "RULE_STEPS",
    "ErrorMode",
    "InvisibleStep",
    "KeywordsStep",
    "LengthStep",
    "PiiStep",
    "RegexPattern",
    "RegexStep",
    "SecretsStep",
    "SemanticStep",
    "StepBase",
    "Threshold",
    "UrlsStep",
]

PiiEntity = Literal["email", "phone", "credit_card", "iban", "us_ssn", "ipv4", "ipv6"]
SecretKind = Literal[
    "aws_access_key",
    "aws_secret_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "stripe_key",
    "openai_key",
    "anthropic_key",
    "google_api_key",
    "private_key",
    "jwt",
    "password_assignment",
]
InvisibleCategory = Literal["zero_width", "bidi", "control", "tag", "private_use"]


class KeywordsStep(StepBase):
    """Word or substring lists matched in one pass (Aho-Corasick) after folding case, width,
    accents, zero-width characters, leetspeak and common homoglyphs."""

    kind: Literal["keywords"]
    words: list[str] | dict[str, list[str]] = Field(
        default_factory=list,
        description="a list of terms (reported with `label`) or a mapping label -> terms",
    )
    words_file: str | None = Field(
        None,
        description="a file of terms, one a line ('#' comments); relative to the policy file",
    )
    label: str = Field("keyword", description="the label of findings from a plain list")
    match: Literal["word", "substring"] = Field(
        "word", description="word: whole words only (no 'Scunthorpe' problem); substring: anywhere"
    )
    fold: bool = Field(True, description="fold leetspeak and homoglyphs (h@te, hαte -> hate)")

    @model_validator(mode="after")
    def _some_words(self) -> KeywordsStep:
        if not self.words and not self.words_file:
            raise ValueError("give `words`, `words_file` or both")
        return self


class RegexPattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(..., min_length=1, description="reported as the finding's label")
    pattern: str = Field(..., min_length=1, description="an RE2 pattern (linear-time matching)")
    case_sensitive: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        from guardrails.rules.regex import compile_pattern

        compile_pattern(pattern, case_sensitive=True)
        return pattern


class RegexStep(StepBase):
    """User patterns compiled with RE2: a pattern cannot hang the process."""

    kind: Literal["regex"]
    patterns: list[RegexPattern] = Field(..., min_length=1)

    @field_validator("patterns", mode="before")
    @classmethod
    def _from_mapping(cls, value: object) -> object:
        if isinstance(value, dict):
            return [{"label": k, "pattern": v} for k, v in value.items()]
        return value


class PiiStep(StepBase):
    """Personal data, validated (Luhn for cards, mod-97 for IBANs, libphonenumber for phones)."""

    kind: Literal["pii"]
    entities: tuple[PiiEntity, ...] = Field(
        ("email", "phone", "credit_card", "iban", "us_ssn", "ipv4", "ipv6"),
        min_length=1,
        description="which entities to find",
    )
    phone_regions: tuple[str, ...] = Field(
        ("US", "GB", "DE", "FR"),
        description="ISO regions whose national phone formats are recognised "
        "(numbers in +international form are found whatever the region)",
    )

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        import phonenumbers

        known = phonenumbers.SUPPORTED_REGIONS
        bad = [r for r in regions if r.upper() not in known]
        if bad:
            raise ValueError(f"unknown phone region(s) {bad}; use ISO 3166 codes such as 'US'")
        return tuple(r.upper() for r in regions)


class SecretsStep(StepBase):
    """API keys, tokens, private keys, JWTs and high-entropy password assignments."""

    kind: Literal["secrets"]
    kinds: tuple[SecretKind, ...] = Field(
        tuple(SecretKind.__args__), min_length=1, description="which kinds of secret to find"
    )
    min_entropy: float = Field(
        3.0, ge=0, le=8, description="bits per character a `password=...` value needs to count"
    )


class LengthStep(StepBase):
    """Size limits; at least one limit is required."""

    kind: Literal["length"]
    max_chars: int | None = Field(None, ge=1)
    max_bytes: int | None = Field(None, ge=1, description="UTF-8 encoded size")
    max_lines: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _some_limit(self) -> LengthStep:
        if self.max_chars is None and self.max_bytes is None and self.max_lines is None:
            raise ValueError("give at least one of max_chars, max_bytes, max_lines")
        return self


class InvisibleStep(StepBase):
    """Zero-width, bidi override (Trojan Source), control, tag and private-use characters."""

    kind: Literal["invisible"]
    categories: tuple[InvisibleCategory, ...] = Field(
        ("zero_width", "bidi", "control", "tag"), min_length=1
    )


class UrlsStep(StepBase):
    """Links to domains outside an allow list, or inside a deny list (subdomains included)."""

    kind: Literal["urls"]
    allow: list[str] = Field(
        default_factory=list, description="if set, every other domain is reported"
    )
    deny: list[str] = Field(default_factory=list, description="domains always reported")
    schemes: list[str] = Field(
        default_factory=list,
        description="if set, URLs with any other scheme are reported (e.g. [http, https])",
    )
    ip_hosts: bool = Field(False, description="report URLs whose host is a bare IP address")

    @field_validator("allow", "deny")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        cleaned = []
        for domain in domains:
            d = domain.strip().lower().lstrip("*.").rstrip(".")
            if not d or "/" in d or " " in d:
                raise ValueError(f"{domain!r} is not a domain name (e.g. 'example.com')")
            cleaned.append(d.encode("idna").decode("ascii"))
        return cleaned

    @model_validator(mode="after")
    def _some_rule(self) -> UrlsStep:
        if not self.allow and not self.deny and not self.ip_hosts:
            raise ValueError("give `allow`, `deny` or `ip_hosts: true`")
        return self


RULE_STEPS = (
    KeywordsStep,
    RegexStep,
    PiiStep,
    SecretsStep,
    LengthStep,
    InvisibleStep,
    UrlsStep,
)


class ClassifierStep(MLStepBase):
    """A trained embedding classifier (centroid, knn, setfit) saved with ``guardrails train``."""

    kind: Literal["classifier"]
    model: str = Field(
        ...,
        description="a saved classifier directory (relative to the policy) or a registered id",
    )
    evidence: int = Field(3, ge=0, le=20, description="nearest training examples to report")


class HfClassifierStep(MLStepBase):
    """A Hugging Face sequence-classification model with ``id2label`` in its config."""

    kind: Literal["hf_classifier"]
    model: str = Field(..., description="a local model directory or a hub id")
    revision: str | None = None
    max_length: int | None = Field(None, ge=8, description="tokens per window")
    stride: int = Field(64, ge=0, description="tokens shared by consecutive windows")


class SemanticStep(MLStepBase):
    """Zero-shot labels written as text descriptions, scored by similarity and calibrated per
    label against ordinary text, so one threshold means one false-positive rate for all."""

    kind: Literal["semantic"]
    embedder: dict[str, Any] | str = Field(
        "minilm", description="a text embedder config, e.g. minilm or {text: {model: ...}}"
    )
    labels: dict[str, list[str]] = Field(
        ..., min_length=1, description="label -> one or more descriptions of what it covers"
    )
    examples: dict[str, list[str]] = Field(
        default_factory=dict,
        description="label -> a few example texts (nearest one is reported as evidence)",
    )
    background: str | None = Field(
        None,
        description="a file of ordinary text, one per line, to calibrate against "
        "(default: the set shipped with guardrails)",
    )

    @model_validator(mode="after")
    def _known_example_labels(self) -> SemanticStep:
        unknown = sorted(set(self.examples) - set(self.labels))
        if unknown:
            raise ValueError(f"examples for labels with no description: {unknown}")
        empty = [label for label, texts in self.labels.items() if not texts]
        if empty:
            raise ValueError(f"labels with no description: {empty}")
        return self


ML_STEPS = (ClassifierStep, HfClassifierStep, SemanticStep)
