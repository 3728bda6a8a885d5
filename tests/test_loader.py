"""Unit tests for reading scenarios: located YAML, ``extends`` merging, ``--set``.

The validator's promise is a precise ``file:line:col`` for every problem; these
tests pin the positions the loader records, so messages stay trustworthy.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sim.engine.beliefs import belief_names
from sim.errors import Location, ValidationError
from sim.expr import Expr
from sim.registry import Registry, load_registry
from sim.scenario import load_scenario
from sim.scenario.loader import MAX_EXTENDS_DEPTH, apply_overrides, load_chain, merge
from sim.scenario.names import HISTORY_FIELDS
from sim.yamlio import Located, iter_paths, load_file, parse_text

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
BASE_EXAMPLE = ROOT / "tests" / "malformed" / "_base.yaml"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(ROOT / "seeds")


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [str(d) for d in exc.value.diagnostics]


def position(text: str, needle: str, file: str) -> Location:
    """1-based line and column of the first ``needle`` in ``text``."""
    start = text.index(needle)
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    return Location(file, line, col)


# -- yamlio: positions ------------------------------------------------------------
NESTED = """\
top:
  inner:
    - 1
    - {c: x, 'd': "quoted"}
  plain: words
  single: 'single quoted'
"""


def test_marks_of_nested_keys_and_list_items() -> None:
    doc = parse_text(NESTED, "f.yaml")
    assert doc.data == {
        "top": {
            "inner": [1, {"c": "x", "d": "quoted"}],
            "plain": "words",
            "single": "single quoted",
        }
    }
    assert doc.file == "f.yaml"
    assert doc.marks[()] == Location("f.yaml", 1, 1)
    # A block mapping's value starts at its first key; a list at its first dash.
    assert doc.marks[("top",)] == Location("f.yaml", 2, 3)
    assert doc.marks[("top", "inner")] == Location("f.yaml", 3, 5)
    assert doc.marks[("top", "inner", 0)] == Location("f.yaml", 3, 7)
    assert doc.marks[("top", "inner", 1)] == Location("f.yaml", 4, 7)
    assert doc.marks[("top", "inner", 1, "c")] == Location("f.yaml", 4, 11)
    assert doc.marks[("top", "plain")] == Location("f.yaml", 5, 10)
    # Keys have their own table, for "unknown key" messages.
    assert doc.key_marks[("top",)] == Location("f.yaml", 1, 1)
    assert doc.key_marks[("top", "inner")] == Location("f.yaml", 2, 3)
    assert doc.key_marks[("top", "inner", 1, "c")] == Location("f.yaml", 4, 8)
    assert doc.key_marks[("top", "inner", 1, "d")] == Location("f.yaml", 4, 14)


def test_marks_agree_with_the_text_for_every_scalar() -> None:
    doc = parse_text(NESTED, "f.yaml")
    lines = NESTED.splitlines()
    for path in iter_paths(doc.data):
        value = doc.data
        for part in path:
            value = value[part]
        if isinstance(value, str):
            loc = doc.marks[path]
            assert lines[loc.line - 1][loc.col - 1 :].startswith(value), path


@pytest.mark.parametrize("quote", ['"', "'"])
def test_quoted_string_mark_points_inside_the_quotes(quote: str) -> None:
    # So that an offset into an expression maps onto the right column.
    doc = parse_text(f"when: {quote}day > 3{quote}\n", "f.yaml")
    assert doc.data == {"when": "day > 3"}
    assert doc.marks[("when",)] == Location("f.yaml", 1, 8)
    assert doc.key_marks[("when",)] == Location("f.yaml", 1, 1)


def test_quoted_expression_error_column(tmp_path: Path, registry) -> None:
    text = BASE_EXAMPLE.read_text(encoding="utf-8").replace(
        "allowed_if: troops_at_border >= 10000",
        'allowed_if: "troops_at_border >= 10000 and attackd"',
    )
    path = tmp_path / "quoted.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_scenario(path, registry=registry)
    (diag,) = exc.value.diagnostics
    assert diag.location == position(text, "attackd", diag.location.file)
    assert "unknown name 'attackd'" in diag.message


IDS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
SCALARS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)
DOCUMENTS = st.dictionaries(
    IDS,
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(IDS, inner, max_size=4),
        max_leaves=15,
    ),
    min_size=1,
    max_size=5,
)


@given(DOCUMENTS, st.sampled_from([None, True, False]))
def test_any_document_round_trips_with_a_mark_for_every_value(
    data: dict[str, Any], flow: bool | None
) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    doc = parse_text(text, "f.yaml")
    assert doc.data == data
    n_lines = text.count("\n") + 1
    for path in iter_paths(data):
        loc = doc.marks[path]
        assert loc.file == "f.yaml"
        assert 1 <= loc.line <= n_lines
        if path and isinstance(path[-1], str):
            assert path in doc.key_marks


def test_keys_are_kept_as_written() -> None:
    # Dates, booleans, numbers and nulls as keys stay the text the author wrote.
    doc = parse_text("2022-02-01: a\nyes: b\n3: c\n1.5: d\n~: e\n", "f.yaml")
    assert list(doc.data) == ["2022-02-01", "yes", "3", "1.5", "~"]


def test_non_scalar_key_is_an_error() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_text("? [a, b]\n: 1\n", "f.yaml")
    assert errors_of(exc) == ["f.yaml:1:3: error: mapping keys must be plain names or numbers"]


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_text("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n", "f.yaml")
    assert errors_of(exc) == ["f.yaml:5:3: error: duplicate key 'c' (first written at line 3)"]


def test_duplicate_key_in_a_flow_mapping_inside_a_list() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_text("items:\n  - {x: 1, y: 2, x: 3}\n", "f.yaml")
    assert errors_of(exc) == ["f.yaml:2:18: error: duplicate key 'x' (first written at line 2)"]


def test_same_key_in_different_mappings_is_fine() -> None:
    doc = parse_text("a: {x: 1}\nb: {x: 2}\n", "f.yaml")
    assert doc.data == {"a": {"x": 1}, "b": {"x": 2}}


def test_aliases_within_the_limit_are_expanded() -> None:
    doc = parse_text("a: &v {x: 1}\nb: *v\n", "f.yaml")
    assert doc.data == {"a": {"x": 1}, "b": {"x": 1}}


def test_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_file(path).data == {"a": 1}


def test_iter_paths_parents_before_children() -> None:
    data = {"a": {"b": [1, {"c": 2}]}, "d": 3}
    assert list(iter_paths(data)) == [
        (),
        ("a",),
        ("a", "b"),
        ("a", "b", 0),
        ("a", "b", 1),
        ("a", "b", 1, "c"),
        ("d",),
    ]
    assert list(iter_paths(5, ("x",))) == [("x",)]


def test_where_falls_back_to_the_nearest_parent() -> None:
    doc = parse_text("a:\n  b: 1\n", "f.yaml")
    assert doc.where(("a", "b", "missing", 3)) == Location("f.yaml", 2, 6)
    assert doc.where(("a", "b"), key=True) == Location("f.yaml", 2, 3)
    assert doc.where(("nothing",)) == Location("f.yaml", 1, 1)
    assert Located({}, file="g.yaml").where(("x",)) == Location("g.yaml", 1, 1)


# -- loader.merge --------------------------------------------------------------------
BASE = """\
x:
  keep: 1
  over: 2
  gone: 3
  sub: {a: 1, b: 2}
lst: [1, 2, 3]
"""
CHILD = """\
extends: base.yaml
x:
  over: 20
  gone: null
  sub: 5
  new: {z: 1}
lst: [9]
"""


@pytest.fixture
def merged() -> Located:
    return merge(parse_text(BASE, "base.yaml"), parse_text(CHILD, "child.yaml"))


def test_merge_child_overrides_and_null_deletes(merged: Located) -> None:
    # Mappings merge key by key; anything else (scalars, lists) is replaced.
    assert merged.data == {"x": {"keep": 1, "over": 20, "sub": 5, "new": {"z": 1}}, "lst": [9]}
    assert merged.file == "child.yaml"


def test_merge_positions_come_from_the_file_that_wrote_the_value(merged: Located) -> None:
    assert merged.marks[("x", "keep")] == Location("base.yaml", 2, 9)
    assert merged.key_marks[("x", "keep")] == Location("base.yaml", 2, 3)
    assert merged.marks[("x", "over")] == Location("child.yaml", 3, 9)
    assert merged.key_marks[("x", "over")] == Location("child.yaml", 3, 3)
    assert merged.marks[("x", "sub")] == Location("child.yaml", 5, 8)
    assert merged.marks[("x", "new", "z")] == Location("child.yaml", 6, 12)
    assert merged.marks[("lst",)] == Location("child.yaml", 7, 6)
    assert merged.marks[("lst", 0)] == Location("child.yaml", 7, 7)


def test_merge_forgets_positions_of_replaced_and_deleted_values(merged: Located) -> None:
    for gone in [("x", "gone"), ("x", "sub", "a"), ("x", "sub", "b"), ("lst", 1), ("lst", 2)]:
        assert gone not in merged.marks
        assert gone not in merged.key_marks


def test_merge_does_not_modify_the_base() -> None:
    base = parse_text(BASE, "base.yaml")
    merge(base, parse_text(CHILD, "child.yaml"))
    assert base.data == parse_text(BASE, "base.yaml").data


def _chain(tmp_path: Path, depth: int) -> Path:
    (tmp_path / "f0.yaml").write_text("state: 0\nlevels: [0]\n", encoding="utf-8")
    for i in range(1, depth + 1):
        (tmp_path / f"f{i}.yaml").write_text(
            f"extends: f{i - 1}.yaml\nlevel{i}: {i}\n", encoding="utf-8"
        )
    return tmp_path / f"f{depth}.yaml"


def test_load_chain_merges_every_level(tmp_path: Path) -> None:
    doc = load_chain(_chain(tmp_path, 3))
    assert doc.data == {"state": 0, "levels": [0], "level1": 1, "level2": 2, "level3": 3}
    assert Path(doc.marks[("state",)].file).name == "f0.yaml"
    assert Path(doc.marks[("level2",)].file).name == "f2.yaml"


def test_load_chain_depth_limit(tmp_path: Path) -> None:
    load_chain(_chain(tmp_path, MAX_EXTENDS_DEPTH))
    with pytest.raises(ValidationError) as exc:
        load_chain(_chain(tmp_path, MAX_EXTENDS_DEPTH + 1))
    assert f"extends chain deeper than {MAX_EXTENDS_DEPTH} files" in errors_of(exc)[0]


def test_load_chain_extends_must_be_text(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nextends: [x.yaml]\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_chain(path)
    (err,) = errors_of(exc)
    assert err.endswith(":2:10: error: extends: expected a file path (text)")


def test_extends_self_is_a_cycle(tmp_path: Path) -> None:
    path = tmp_path / "me.yaml"
    path.write_text("extends: me.yaml\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_chain(path)
    assert "extends forms a cycle" in errors_of(exc)[0]


def test_errors_point_into_base_and_child(tmp_path: Path, registry) -> None:
    base_text = BASE_EXAMPLE.read_text(encoding="utf-8").replace(
        "horizon_days: 14", "horizon_days: 0"
    )
    (tmp_path / "base.yaml").write_text(base_text, encoding="utf-8")
    child_text = "extends: base.yaml\nladder:\n  war: {mid_level: 9}\n"
    (tmp_path / "child.yaml").write_text(child_text, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_scenario(tmp_path / "child.yaml", registry=registry)
    found = {
        (Path(d.location.file).name, d.location.line, d.location.col) for d in exc.value.diagnostics
    }
    zero = position(base_text, "horizon_days: 0", "")
    assert found == {
        ("base.yaml", zero.line, zero.col + len("horizon_days: ")),
        ("child.yaml", 3, 20),
    }


# -- loader.apply_overrides --------------------------------------------------------------
OVERRIDABLE = """\
scenario: {seed: 1, sources: [a, b]}
parameters:
  p: {dist: fixed, value: 1}
"""


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("3", 3),
        ("0.2", 0.2),
        ("-1.5", -1.5),
        ("true", True),
        ("words", "words"),
        ('"3"', "3"),
        ("[x, y]", ["x", "y"]),
        ("", ""),
        ("[unclosed", "[unclosed"),
    ],
)
def test_override_values_are_read_as_yaml(raw: str, value: Any) -> None:
    doc = apply_overrides(parse_text(OVERRIDABLE, "f.yaml"), [f"parameters.p.value={raw}"])
    assert doc.data["parameters"]["p"]["value"] == value
    assert type(doc.data["parameters"]["p"]["value"]) is type(value)


def test_override_position_is_the_command_line() -> None:
    doc = apply_overrides(
        parse_text(OVERRIDABLE, "f.yaml"), ["scenario.seed=7", "parameters.p.value=2"]
    )
    assert doc.data["scenario"]["seed"] == 7
    assert doc.marks[("scenario", "seed")] == Location("--set", 1, len("scenario.seed") + 2)
    assert doc.key_marks[("parameters", "p", "value")] == Location("--set", 2, 1)
    # Untouched values keep their place in the file.
    assert doc.marks[("parameters", "p", "dist")].file == "f.yaml"


def test_override_list_index_path() -> None:
    doc = apply_overrides(parse_text(OVERRIDABLE, "f.yaml"), ["scenario.sources.1=c"])
    assert doc.data["scenario"]["sources"] == ["a", "c"]
    assert doc.marks[("scenario", "sources", 1)].file == "--set"


def test_override_adds_a_new_key_under_an_existing_parent() -> None:
    # The schema check then decides whether the key is allowed.
    doc = apply_overrides(parse_text(OVERRIDABLE, "f.yaml"), ["parameters.p.integer=true"])
    assert doc.data["parameters"]["p"]["integer"] is True


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("scenario.seed", "--set:1:1: error: --set 'scenario.seed': expected path.to.key=VALUE"),
        ("scenario..seed=1", "--set:1:1: error: --set 'scenario..seed=1': the path has an empty"),
        ("=1", "--set:1:1: error: --set '=1': the path has an empty part"),
        ("scenario.seed={a: 1}", "--set:1:1: error: --set 'scenario.seed={a: 1}': give one value"),
        (
            "scenari.seed=1",
            "--set:1:1: error: --set 'scenari.seed=1': 'scenari' does not exist in the scenario; "
            "did you mean 'scenario'?",
        ),
        ("scenario.sources.5=x", "--set:1:20: error: --set 'scenario.sources.5=x': cannot set"),
        ("scenario.seed.x=1", "--set:1:17: error: --set 'scenario.seed.x=1': cannot set a value"),
    ],
)
def test_bad_overrides(override: str, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        apply_overrides(parse_text(OVERRIDABLE, "f.yaml"), [override])
    (err,) = errors_of(exc)
    assert err.startswith(message)


def test_every_bad_path_override_is_reported() -> None:
    with pytest.raises(ValidationError) as exc:
        apply_overrides(
            parse_text(OVERRIDABLE, "f.yaml"), ["nope.a=1", "scenario.seed=2", "no.b=3"]
        )
    assert [d.location.line for d in exc.value.diagnostics] == [1, 3]


def test_load_scenario_with_override() -> None:
    sc = load_scenario(
        ROOT / "scenarios" / "allied_resolve_2022.yaml",
        ["parameters.kremlin_appetite.a=6", "scenario.seed=5"],
    )
    assert sc.parameter("kremlin_appetite").args["a"] == 6
    assert sc.seed == 5
    assert sc.overrides == ("parameters.kremlin_appetite.a=6", "scenario.seed=5")


# -- shipped scenarios and the documented example ---------------------------------------
def _expressions(obj: Any) -> list[Expr]:
    if isinstance(obj, Expr):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [e for item in obj for e in _expressions(item)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [e for f in dataclasses.fields(obj) for e in _expressions(getattr(obj, f.name))]
    return []


def _declared_names(sc: Any) -> set[str]:
    names = {"day", "rung", "peak", "horizon"}
    names |= {v.id for v in sc.state} | {p.id for p in sc.parameters} | {i.id for i in sc.intel}
    names |= {f"rungs.{r.id}" for r in sc.ladder}
    names |= {f"events.{e.id}.{f}" for e in sc.events for f in ("active", "count")}
    names |= {f"flags.{f.id}" for f in sc.flags}
    names |= {f"{a.id}.{x.id}.{f}" for a in sc.actors for x in a.actions for f in HISTORY_FIELDS}
    names |= {n for a in sc.actors for n in belief_names(a)}  # each holder reads its own
    return names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_compiles_cleanly(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.warnings == ()
    exprs = _expressions(sc)
    assert len(exprs) > 20
    declared = _declared_names(sc)
    for e in exprs:
        assert isinstance(e.names, frozenset)
        assert e.names <= declared, (e.source, e.names - declared)
        # Anything not folded to a constant must read at least one name.
        assert e.is_constant or e.names, e.source


def test_shipped_scenario_is_what_the_docs_say() -> None:
    sc = load_scenario(ROOT / "scenarios" / "allied_resolve_2022.yaml")
    assert sc.name == "allied_resolve_2022"
    assert len(sc.ladder) >= 2
    assert all(sum(x.default for x in a.actions) == 1 for a in sc.actors)
    assert sum(o.when is None for o in sc.outcomes) == 1
    assert [r.mid_level for r in sc.ladder] == sorted(r.mid_level for r in sc.ladder)
    assert all(r.cites for r in sc.rules)


def _documented_example() -> str:
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    section = text[text.index("## A complete example") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "no ```yaml block after '## A complete example'"
    return block[1]


def test_documented_complete_example_validates(tmp_path: Path, registry) -> None:
    path = tmp_path / "border_crisis.yaml"
    path.write_text(_documented_example(), encoding="utf-8")
    sc = load_scenario(path, registry=registry)
    assert sc.name == "border_crisis"
    assert sc.warnings == ()
    assert [r.id for r in sc.ladder] == ["calm", "threat", "war"]
    assert [o.id for o in sc.outcomes] == ["quiet", "tense", "war"]
    assert sc.intel[0].observer == "defender"
    assert sc.parameter("doctrine").enum_values == ("only_if_attacked", "like_russian_army")


def test_documented_example_citations_are_really_checked(tmp_path: Path, registry) -> None:
    # The example must validate against the registry, not merely without one.
    path = tmp_path / "border_crisis.yaml"
    path.write_text(_documented_example().replace("drills-10-20-feb", "no-such-claim"), "utf-8")
    with pytest.raises(ValidationError) as exc:
        load_scenario(path, registry=registry)
    assert "unknown claim id 'no-such-claim'" in errors_of(exc)[0]


# -- the nesting pre-scan ------------------------------------------------------------
def _depth(node: yaml.Node) -> int:
    """Nesting depth of a composed document (collections containing the deepest value)."""
    if isinstance(node, yaml.MappingNode):
        return 1 + max([_depth(v) for _, v in node.value], default=0)
    if isinstance(node, yaml.SequenceNode):
        return 1 + max([_depth(v) for v in node.value], default=0)
    return 0


_SCALARS = st.sampled_from(
    [1, 2.5, None, True, "a b", "it's", 'say "x"', "x: y", "- z", "[a", "{b}", "#c", "a #b",
     "multi\nline", "", "key:", "&anchor", "*alias", "!tag", "|", ">", "'q'", "-"]
)  # fmt: skip
_KEYS = st.sampled_from(["k", "a b", "x:y", "'q'", "-k", "[k]", "key with: colon", "#"])
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=25,
)


@given(
    doc=_DOCS,
    flow=st.sampled_from([True, False, None]),
    indent=st.integers(2, 6),
    width=st.sampled_from([12, 80, 10_000]),
)
def test_nesting_prescan_is_exact_on_dumped_documents(
    doc: Any, flow: bool | None, indent: int, width: int
) -> None:
    # The pre-scan must never refuse a document within MAX_NESTING (no false alarm),
    # and must see real depth so that neither parser reaches its own limit first.
    from sim.yamlio import _DepthScan

    text = yaml.safe_dump(
        {"root": doc}, default_flow_style=flow, indent=indent, width=width, allow_unicode=True
    )
    depth = _depth(yaml.compose(text, Loader=yaml.SafeLoader))
    assert _DepthScan(text, depth).too_deep() is None
    assert _DepthScan(text, depth - 1).too_deep() is not None


def test_nesting_prescan_on_the_shipped_files() -> None:
    from sim.yamlio import _DepthScan

    for path in [*SCENARIOS, ROOT / "seeds" / "claims.yaml", ROOT / "seeds" / "sources.yaml"]:
        text = path.read_text(encoding="utf-8")
        depth = _depth(yaml.compose(text, Loader=yaml.SafeLoader))
        assert _DepthScan(text, depth).too_deep() is None, path
        assert _DepthScan(text, depth - 1).too_deep() is not None, path


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 200 + "]" * 200,
        "a: " + "{b: " * 200 + "}" * 200,
        "a:\n" + "".join(" " * i + "- \n" for i in range(1, 201)),
        "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 201)),
        "- " * 200 + "x\n",
        "a: [\n" + "  [\n" * 200,
    ],
    ids=["flow-list", "flow-map", "block-list", "block-map", "compact", "unclosed"],
)
def test_deep_text_is_refused_before_parsing(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.yamlio

    def no_parser(*args: object) -> None:
        raise AssertionError("the parser was reached")

    monkeypatch.setattr(sim.yamlio, "_compose", no_parser)
    with pytest.raises(ValidationError, match="too deeply nested"):
        parse_text(text, "deep.yaml")
