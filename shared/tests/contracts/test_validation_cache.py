"""Label keys and DNS labels are checked through a cache: asking twice, or after other
inputs, answers what the rule itself answers."""

from __future__ import annotations

import pytest

from shared.contracts import validation

KEYS = [
    "app",
    "kurator.dev/owner-name",
    "apps.kurator.dev/generation",
    "Bad.Prefix/name",
    "prefix/",
    "/name",
    "a" * 64,
    "x" * 254 + "/name",
    "-starts-badly",
    "ok_name.with-dots",
    "",
]
LABELS = ["default", "web", "Default", "a" * 63, "a" * 64, "-x", "x-", "", "kube-system"]


@pytest.mark.parametrize("key", KEYS)
def test_label_keys_answer_as_the_rule_does(key: str) -> None:
    uncached = validation.label_key_error.__wrapped__(key)
    assert validation.label_key_error(key) == uncached
    assert validation.label_key_error(key) == uncached  # from the cache now


@pytest.mark.parametrize("value", LABELS)
@pytest.mark.parametrize("max_length", [63, 10])
def test_dns_labels_answer_as_the_rule_does(value: str, max_length: int) -> None:
    uncached = validation.dns_label_error.__wrapped__(value, max_length=max_length)
    assert validation.dns_label_error(value, max_length=max_length) == uncached
    assert validation.dns_label_error(value, max_length=max_length) == uncached
    if max_length == 63:
        assert validation.dns_label_error(value) == uncached  # the default, a key of its own
