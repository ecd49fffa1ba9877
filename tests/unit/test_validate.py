"""labgen.validate: one character policy for lab files, scenarios and transcripts."""

from __future__ import annotations

import pytest

from labgen import validate


@pytest.mark.parametrize(
    "char",
    [
        "\x00",
        "\x07",
        "\x1b",
        "\x7f",
        "\x85",
        "\u200b",
        "\u200d",
        "\u202a",
        "\u202e",
        "\u2066",
        "\u2069",
        "\ufeff",
        "\u2028",
        "\u2029",
        "\ue000",
    ],
)
def test_refused_everywhere(char):
    assert validate.bad_character(f"ab{char}c") == (2, char)
    assert (
        validate.character_problem(f"ab{char}c") == f"contains the control character U+{ord(char):04X} at character 3"
    )
    assert validate.strip_refused(f"ab{char}c") == "abc"


def test_newline_and_tab_only_where_the_text_allows_them():
    assert validate.bad_character("a\nb\tc") is None
    assert validate.bad_character("a\nb\tc", allow="\n") == (3, "\t")
    assert validate.bad_character("中文 text, ee:ee:ee:ee:ee:ee — ok…") is None


def test_lab_files_and_scenarios_share_the_policy():
    from labgen import labfile, schemacheck

    assert labfile.character_problem is validate.character_problem
    assert schemacheck.character_problem is validate.character_problem  # scenarios: printable=


def test_problems_sorted_by_line_then_found_order():
    p = validate.Problems("lab.yml")
    p.add(5, "node a", "bad", "good")
    p.add(2, "lab", "worse")
    p.add(5, "node b", "also bad")
    p.add(0, "lab", "whole file")
    assert p.sorted() == [
        "lab.yml: lab: whole file",
        "lab.yml line 2: lab: worse",
        "lab.yml line 5: node a: bad; expected good",
        "lab.yml line 5: node b: also bad",
    ]
    assert len(p) == 4


def test_did_you_mean_and_descriptions():
    assert validate.did_you_mean("zookeper", ["etcd", "zookeeper"]) == " (did you mean 'zookeeper'?)"
    assert validate.did_you_mean("x", ["etcd"]) == ""
    assert validate.kind(True) == "a boolean" and validate.kind(None) == "empty (null)"
    assert validate.show("a\u202eb") == "'a\\u202eb'"  # escaped in messages
    assert validate.describe("a\u202eb") == "'a\\u202eb' (a string)"


@pytest.mark.parametrize(
    "value, kind_, shown, described",
    [
        ({"a": 1}, "a mapping", "a mapping", "a mapping"),
        ({}, "a mapping", "a mapping", "an empty mapping"),
        ([1], "a list", "a list", "a list"),
        ([], "a list", "a list", "an empty list"),
        (None, "empty (null)", "null", "empty"),
        (False, "a boolean", "false", "false (a boolean)"),
        (3, "an integer", "3", "3 (a number)"),
        (2.5, "a number", "2.5", "2.5 (a number)"),
        ("x" * 40, "a string", repr("x" * 40), repr("x" * 40) + " (a string)"),
        ("x" * 41, "a string", repr("x" * 41), repr("x" * 37 + "...") + " (a string)"),
        ("y" * 60, "a string", repr("y" * 60), repr("y" * 37 + "...") + " (a string)"),
        ("y" * 61, "a string", repr("y" * 57 + "..."), repr("y" * 37 + "...") + " (a string)"),
        (b"raw", "a bytes", "\"b'raw'\"", "bytes"),
    ],
)
def test_kind_show_and_describe_of_every_sort_of_value(value, kind_, shown, described):
    assert validate.kind(value) == kind_
    assert validate.show(value) == shown
    assert validate.describe(value) == described


def test_show_shortens_other_objects_to_the_limit():
    class Thing:
        def __str__(self):
            return "t" * 100

    assert validate.show(Thing()) == ascii("t" * 100)[:60] and validate.show(Thing(), limit=10) == "'ttttttttt"


def test_did_you_mean_names_only_the_closest_match():
    assert validate.closest("etcd2", ["etcd", "etcd3", "zookeeper"]) == "etcd"
    assert validate.closest("ab", ["abcdefgh"]) is None  # below the 0.6 cutoff
    assert validate.closest("abcd", ["abcx"]) == "abcx"  # 0.75: close enough


def test_strip_refused_keeps_what_it_is_told_to_keep():
    assert validate.strip_refused("a\tb\nc") == "a\tb\nc"
    assert validate.strip_refused("a\tb\nc", keep="\n") == "ab\nc"
    assert validate.strip_refused("a\x1bb", keep="\n") == "ab"
    assert validate.character_problem("a\tb") is None and validate.character_problem("a\tb", allow="\n") is not None
