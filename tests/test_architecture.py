"""The import contract exists, is run by ``make test``, and is the one docs/architecture.md draws.

``lint-imports`` itself runs in ``make test`` (before the suite); these
tests check that it is there to run, covers every module, and that the
document describing the layers says what the contract enforces.
"""

from __future__ import annotations

import tomllib

import pytest
from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = {c["id"]: c for c in PYPROJECT["tool"]["importlinter"]["contracts"]}
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_make_test_runs_the_contract_before_the_suite() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/lint-imports" in recipe
    assert recipe.index("lint-imports") < recipe.index("pytest")


@pytest.mark.parametrize("contract", ["layers", "batch", "results"])
def test_every_contract_is_an_exhaustive_layers_contract(contract: str) -> None:
    c = CONTRACTS[contract]
    assert c["type"] == "layers" and c["exhaustive"] is True
    assert not c.get("ignore_imports"), "an exception to the layers belongs in the doc first"


def _modules(package: str) -> set[str]:
    """The modules and subpackages directly inside ``package`` (as import-linter sees them)."""
    folder = ROOT.joinpath(*package.split("."))
    names = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    names |= {p.parent.name for p in folder.glob("*/__init__.py")}
    return names


@pytest.mark.parametrize(("contract", "package"), [("layers", "sim"), ("batch", "sim.batch")])
def test_every_module_has_one_layer(contract: str, package: str) -> None:
    layers = CONTRACTS[contract]["layers"]
    placed = [m.strip() for layer in layers for m in layer.split("|")]
    assert sorted(placed) == sorted(set(placed))
    assert set(placed) == _modules(package)


def _drawn(block: int, indent: int) -> list[str]:
    """The layers drawn in the ``block``-th text diagram of the document, top to bottom.

    Each line is a group label (``indent`` characters, maybe blank), the
    layer, then after two spaces or more what it holds.
    """
    text = DOC.split("```text\n")[block + 1].split("```", 1)[0]
    return [line[indent:].split("  ", 1)[0].strip() for line in text.splitlines()]


@pytest.mark.parametrize(("contract", "block", "indent"), [("layers", 0, 15), ("batch", 1, 0)])
def test_the_document_draws_the_contract_top_to_bottom(
    contract: str, block: int, indent: int
) -> None:
    assert _drawn(block, indent) == CONTRACTS[contract]["layers"]
