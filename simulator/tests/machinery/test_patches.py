"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) as the apiserver applies them."""

from __future__ import annotations

from typing import Any

import pytest

from kurator_sim.machinery import patches
from kurator_sim.machinery.patches import PatchError

# RFC 7386 Appendix A, every example: (target, patch, result).
RFC7386_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386_EXAMPLES)
def test_rfc7386_appendix_examples(target: Any, patch: Any, expected: Any) -> None:
    assert patches.json_merge_patch(target, patch) == expected


def test_merge_patch_does_not_modify_inputs() -> None:
    target = {"a": {"b": 1}}
    patch = {"a": {"c": 2}}
    patches.json_merge_patch(target, patch)
    assert target == {"a": {"b": 1}}
    assert patch == {"a": {"c": 2}}


def test_apiserver_merge_patch_on_an_object() -> None:
    obj = {"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}}, "spec": {"ports": [1, 2]}}
    out = patches.apply_merge_patch(obj, {"metadata": {"labels": {"x": None, "z": "3"}}, "spec": {"ports": [3]}})
    assert out == {"metadata": {"name": "a", "labels": {"y": "2", "z": "3"}}, "spec": {"ports": [3]}}


def test_apiserver_merge_patch_drops_nulls_from_new_subtrees() -> None:
    out = patches.apply_merge_patch({}, {"spec": {"a": None, "items": [{"b": None, "c": 1}]}})
    assert out == {"spec": {"items": [{"c": 1}]}}


def test_apiserver_merge_patch_null_body_is_bad_request() -> None:
    with pytest.raises(PatchError) as exc:
        patches.apply_merge_patch({"a": 1}, None)
    assert (exc.value.code, exc.value.reason, exc.value.message) == (400, "BadRequest", "Invalid JSON Patch")


def test_apiserver_merge_patch_non_object_is_invalid() -> None:
    with pytest.raises(PatchError) as exc:
        patches.apply_merge_patch({"a": 1}, [1])
    assert (exc.value.code, exc.value.reason) == (422, "Invalid")


# RFC 6902 Appendix A: (section, document, patch, expected result or None for an error).
RFC6902_EXAMPLES: list[tuple[str, Any, list[dict[str, Any]], Any]] = [
    ("A.1", {"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    (
        "A.2",
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    ("A.3", {"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ("A.4", {"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    (
        "A.5",
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        "A.6",
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        "A.7",
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        "A.8",
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    ("A.9", {"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}], None),
    (
        "A.10",
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        "A.11",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    ("A.12", {"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], None),
    ("A.14", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ("A.15", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}], None),
    (
        "A.16",
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
]


@pytest.mark.parametrize(
    ("document", "ops", "expected"),
    [pytest.param(doc, ops, want, id=section) for section, doc, ops, want in RFC6902_EXAMPLES],
)
def test_rfc6902_appendix_examples(document: Any, ops: list[dict[str, Any]], expected: Any) -> None:
    if expected is None:
        with pytest.raises(PatchError) as exc:
            patches.apply_json_patch(document, ops)
        assert exc.value.code == 422
    else:
        assert patches.apply_json_patch(document, ops) == expected


def test_failed_test_op_is_422_with_the_apiservers_generic_message() -> None:
    # handlers/patch.go: NewGenericServerResponse(422, ...) -> reason Invalid, fixed message.
    with pytest.raises(PatchError) as exc:
        patches.apply_json_patch({"spec": {"replicas": 1}}, [{"op": "test", "path": "/spec/replicas", "value": 2}])
    err = exc.value
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "the server rejected our request due to an error in our request"
    assert err.detail == "testing value /spec/replicas failed: test failed"


def test_invalid_path_is_422() -> None:
    with pytest.raises(PatchError) as exc:
        patches.apply_json_patch({"metadata": {}}, [{"op": "remove", "path": "/metadata/labels/app"}])
    assert exc.value.code == 422
    assert (
        exc.value.detail
        == 'remove operation does not apply: doc is missing path: "/metadata/labels/app": missing value'
    )


def test_remove_of_a_missing_member_is_422() -> None:
    with pytest.raises(PatchError) as exc:
        patches.apply_json_patch({"metadata": {"labels": {}}}, [{"op": "remove", "path": "/metadata/labels/app"}])
    assert exc.value.code == 422
    assert "Unable to remove nonexistent key: app" in exc.value.detail


def test_pointer_escapes() -> None:
    doc = {"metadata": {"annotations": {"example.com/a~b": "x"}}}
    out = patches.apply_json_patch(
        doc, [{"op": "replace", "path": "/metadata/annotations/example.com~1a~0b", "value": "y"}]
    )
    assert out == {"metadata": {"annotations": {"example.com/a~b": "y"}}}


def test_copy_and_append() -> None:
    doc = {"spec": {"a": [1], "b": []}}
    out = patches.apply_json_patch(
        doc,
        [{"op": "copy", "from": "/spec/a/0", "path": "/spec/b/-"}, {"op": "add", "path": "/spec/b/-", "value": 2}],
    )
    assert out == {"spec": {"a": [1], "b": [1, 2]}}
    assert doc == {"spec": {"a": [1], "b": []}}


def test_replace_of_a_missing_member_adds_it_like_json_patch_v4() -> None:
    out = patches.apply_json_patch(
        {"metadata": {"labels": {}}}, [{"op": "replace", "path": "/metadata/labels/a", "value": "1"}]
    )
    assert out == {"metadata": {"labels": {"a": "1"}}}


def test_negative_index_counts_from_the_end_like_json_patch_v4() -> None:
    out = patches.apply_json_patch({"l": [1, 2, 3]}, [{"op": "remove", "path": "/l/-1"}])
    assert out == {"l": [1, 2]}


def test_index_out_of_range_is_422() -> None:
    with pytest.raises(PatchError) as exc:
        patches.apply_json_patch({"l": [1]}, [{"op": "add", "path": "/l/5", "value": 0}])
    assert exc.value.code == 422


def test_test_op_treats_bool_and_number_as_different() -> None:
    with pytest.raises(PatchError):
        patches.apply_json_patch({"a": True}, [{"op": "test", "path": "/a", "value": 1}])


def test_unknown_op_is_422() -> None:
    with pytest.raises(PatchError) as exc:
        patches.apply_json_patch({}, [{"op": "frobnicate", "path": "/a"}])
    assert exc.value.code == 422
    assert exc.value.detail == "Unexpected kind: frobnicate"


def test_body_that_is_not_a_list_is_400() -> None:
    with pytest.raises(PatchError) as exc:
        patches.apply_json_patch({}, {"op": "add", "path": "/a", "value": 1})
    assert (exc.value.code, exc.value.reason) == (400, "BadRequest")
    assert exc.value.message == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"


def test_too_many_operations_is_413() -> None:
    ops = [{"op": "test", "path": "/a", "value": 1}] * (patches.MAX_JSON_PATCH_OPERATIONS + 1)
    with pytest.raises(PatchError) as exc:
        patches.apply_json_patch({"a": 1}, ops)
    assert exc.value.code == 413


def test_failed_patch_leaves_the_document_untouched() -> None:
    doc = {"a": 1}
    with pytest.raises(PatchError):
        patches.apply_json_patch(
            doc, [{"op": "add", "path": "/b", "value": 2}, {"op": "test", "path": "/a", "value": 9}]
        )
    assert doc == {"a": 1}
