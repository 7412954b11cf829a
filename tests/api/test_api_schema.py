"""The published schema and error table: current, complete, and enforced."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from engine.api.errors import all_codes
from engine.api.schema import METHODS, SCHEMA_PATH, load_schema, schema_text
from engine.api.service import ExchangeService
from engine.api.validate import Validator

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_schema_json__repo_file__equals_the_generated_schema():
    assert SCHEMA_PATH.read_text() == schema_text(), \
        "engine/api/schema.json is stale: run `python -m engine.api.schema`"


def test_schema_json__served__same_document(stack):
    resp = httpx.get(stack[0].url + "/schema.json")
    assert resp.status_code == 200 and resp.json() == load_schema()


def test_methods__every_service_method__has_a_schema_and_vice_versa():
    implemented = {n[2:] for n in dir(ExchangeService) if n.startswith("m_")}
    assert implemented == set(METHODS)


def test_docs_api_md__error_table__lists_exactly_the_codes():
    rows = re.findall(r"^\| (-?\d+) \| `(\w+)` \|", DOCS.read_text(), flags=re.M)
    assert {int(c): n for c, n in rows} == {c: name for c, (name, _) in all_codes().items()}


def test_docs_api_md__methods__every_method_documented():
    text = DOCS.read_text()
    missing = [m for m in METHODS if f"`{m}`" not in text]
    assert missing == []


def test_validator__nested_ref_and_bounds__first_error_names_the_path():
    root = {"$defs": {"n": {"type": "integer", "minimum": 1}},
            "x": {"type": "object", "properties": {"a": {"type": "array",
                                                         "items": {"$ref": "#/$defs/n"}}},
                  "required": ["a"], "additionalProperties": False}}
    v = Validator(root)
    assert v.first_error({"a": [1, 2]}, root["x"], "p") is None
    assert v.first_error({"a": [1, 0]}, root["x"], "p") == "p.a[1]: must be >= 1, got 0"
    assert v.first_error({"a": [True]}, root["x"], "p") == "p.a[0]: expected integer, got boolean"
    assert v.first_error({}, root["x"], "p") == "p.a: missing (required)"
    assert v.first_error({"a": [], "b": 1}, root["x"], "p") == "p.b: unknown field (allowed: a)"
