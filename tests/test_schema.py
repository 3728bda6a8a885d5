"""The JSON Schema for editors: generated, shipped up to date, and right about our files.

The schema is generated from the same declarations the validator uses
(:mod:`sim.scenario.format`); these tests check that the shipped copy is the
generated one, that every shipped scenario passes it, that it rejects the
mistakes the validator rejects, and that the files point editors at it.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, SHIPPED_SCENARIOS

from sim.cli import main
from sim.errors import ValidationError
from sim.registry import load_registry
from sim.scenario import load_scenario
from sim.scenario.format import ACTOR, METADATA, RULE, SCENARIO, json_schema
from sim.schema import SCHEMA_PATH, schema_text

jsonschema = pytest.importorskip("jsonschema")

SCENARIOS = list(SHIPPED_SCENARIOS)
SCHEMA_LINE = "# yaml-language-server: $schema=../sim/schemas/scenario.schema.json"
REGENERATE = "regenerate it with: wargame schema --out sim/schemas/scenario.schema.json"


def iso_dates(value: Any) -> Any:
    """YAML dates as the ISO strings the schema declares (``format: date``)."""
    if isinstance(value, dict):
        return {k: iso_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso_dates(v) for v in value]
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def read(path: Path) -> dict[str, Any]:
    return iso_dates(yaml.safe_load(path.read_text(encoding="utf-8")))


def extends(path: Path) -> bool:
    return "extends" in yaml.safe_load(path.read_text(encoding="utf-8"))


BASES = [p for p in SCENARIOS if not extends(p)]
CHILDREN = [p for p in SCENARIOS if extends(p)]


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(validator: Any, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def messages(validator: Any, doc: Any) -> list[str]:
    """Every error message, including those inside ``anyOf``/``oneOf`` alternatives."""

    def walk(errs: Any) -> list[str]:
        return [m for e in errs for m in (e.message, *walk(e.context or ()))]

    return walk(validator.iter_errors(doc))


def sub_schema(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    """Follow ``properties``/``additionalProperties`` (and ``$ref`` into ``$defs``)."""
    node = schema if "properties" in schema else schema["$defs"]["scenario"]
    for key in path:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        props = node.get("properties", {})
        node = props[key] if key in props else node["additionalProperties"]
    return node


# -- generated and shipped --------------------------------------------------------
def test_schema_text_is_the_generated_schema() -> None:
    assert json.loads(schema_text()) == json_schema()
    assert schema_text().endswith("}\n")


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(schema_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_follows_the_validators_declarations() -> None:
    """Keys in the schema are exactly the keys the format declares."""
    schema = json.loads(schema_text())
    top = schema.get("properties") or schema["$defs"]["scenario"]["properties"]
    assert set(top) == set(SCENARIO.fields)
    assert set(sub_schema(schema, "scenario")["properties"]) == set(METADATA.fields)
    actor = sub_schema(schema, "actors", "any_actor")
    assert set(actor["properties"]) == set(ACTOR.fields)
    rule = sub_schema(schema, "actors", "any_actor", "rules", "any_rule")
    assert set(rule["properties"]) == set(RULE.fields)
    assert rule["additionalProperties"] is False


def test_shipped_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        f"{SCHEMA_PATH.name} differs from the scenario format; {REGENERATE}"
    )


def test_schema_command_writes_the_shipped_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scenario.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == schema_text()
    capsys.readouterr()
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()


# -- the shipped scenarios -------------------------------------------------------
def test_there_are_base_scenarios() -> None:
    assert BASES, "no scenario file without extends in scenarios/"


@pytest.mark.parametrize("path", BASES, ids=lambda p: p.name)
def test_base_scenario_validates(validator: Any, path: Path) -> None:
    assert errors(validator, read(path)) == []


@pytest.mark.parametrize("path", BASES, ids=lambda p: p.name)
def test_base_scenario_names_the_schema_on_its_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == SCHEMA_LINE, f"{path.name}: first line should be {SCHEMA_LINE!r}"
    target = first.split("$schema=", 1)[1]
    assert (path.parent / target).resolve() == SCHEMA_PATH.resolve()


@pytest.mark.parametrize("path", CHILDREN, ids=lambda p: p.name)
def test_child_scenario_validates(validator: Any, path: Path) -> None:
    assert errors(validator, read(path)) == []


# -- partial files and mistakes ------------------------------------------------------
def test_file_with_extends_may_leave_out_top_level_keys(validator: Any) -> None:
    child = {"extends": "allied_resolve_2022.yaml", "reporting": {"key_flags": ["x"]}}
    assert errors(validator, child) == []


def test_file_without_extends_needs_the_required_keys(validator: Any) -> None:
    doc = read(BASES[0])
    del doc["ladder"]
    assert any("'ladder' is a required property" in e for e in errors(validator, doc))


def test_file_with_extends_may_override_one_value_of_a_rule(validator: Any) -> None:
    child = {
        "extends": "base.yaml",
        "scenario": {"name": "variant", "title": "A variant"},
        "actors": {"kremlin": {"rules": {"appetite_for_war": {"utility": "0.5"}}}},
        "parameters": {"appetite": None},
    }
    assert errors(validator, child) == []


def misspell_rule_key(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    rule = next(
        r for a in doc["actors"].values() for r in a.get("rules", {}).values() if "allowed_if" in r
    )
    rule["alowed_if"] = rule.pop("allowed_if")
    return doc


def misspell_horizon(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["scenario"]["horizon_day"] = doc["scenario"].pop("horizon_days")
    return doc


def misspell_top_level(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["outcome"] = doc.pop("outcomes")
    return doc


MISTAKES = {
    "alowed_if": misspell_rule_key,
    "horizon_day": misspell_horizon,
    "outcome": misspell_top_level,
}


@pytest.mark.parametrize("key", MISTAKES)
def test_misspelled_key_is_rejected_by_schema_and_validator(
    validator: Any, key: str, tmp_path: Path
) -> None:
    base = BASES[0]
    doc = MISTAKES[key](read(base))
    found = messages(validator, doc)
    assert any(f"'{key}' was unexpected" in m for m in found), found
    # The validator agrees: same file, same mistake.
    bad = tmp_path / base.name
    data = MISTAKES[key](yaml.safe_load(base.read_text(encoding="utf-8")))
    bad.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ValidationError, match=f"unknown key '{key}'"):
        load_scenario(bad, registry=load_registry(ROOT / "seeds"))


def test_misspelled_key_in_a_file_with_extends_is_rejected(validator: Any) -> None:
    child = {"extends": "base.yaml", "scenario": {"name": "v", "horizon_day": 30}}
    assert any("'horizon_day' was unexpected" in m for m in messages(validator, child))


def test_bad_date_is_rejected(validator: Any) -> None:
    doc = read(BASES[0])
    doc["scenario"]["start"] = "2022-02-30"
    assert any("is not a 'date'" in e for e in errors(validator, doc))


def too_large(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """``doc`` with the number 1e16 (beyond the safe range ±1e15) put in one place."""
    doc = copy.deepcopy(doc)
    if where == "number":  # Num
        doc["parameters"]["kremlin_appetite"]["a"] = 1e16
    elif where == "expression":  # a plain number where an expression may stand
        doc["actors"]["lukashenka"]["rules"]["grey_zone"]["utility"] = -1e16
    else:  # any scalar
        doc["events"]["drills"]["start"] = 10**16
    return doc


@pytest.mark.parametrize("where", ["number", "expression", "any scalar"])
def test_numbers_beyond_the_safe_range_are_rejected_by_schema_and_validator(
    validator: Any, where: str, tmp_path: Path
) -> None:
    base = BASES[0]
    found = messages(validator, too_large(read(base), where))
    assert any("1e+16" in m or "10000000000000000" in m for m in found), found
    bad = tmp_path / base.name
    data = too_large(yaml.safe_load(base.read_text(encoding="utf-8")), where)
    bad.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"safe range|too large"):
        load_scenario(bad, registry=load_registry(ROOT / "seeds"))
