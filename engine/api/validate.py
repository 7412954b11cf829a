"""A small JSON Schema validator (the subset engine/api/schema.json uses).

Supported: type (one or a list), properties, required, additionalProperties
(false or a schema), items, enum, const, pattern, minimum, maximum,
minItems, maxItems, minLength, maxLength, oneOf, anyOf, and local `$ref`s
("#/$defs/Name"). The first failure is reported with its path, so an API
error names the field (`params.order.size: expected string`). Booleans are
not integers here, as in JSON Schema.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _json_type(value: object) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


class Validator:
    """Validates values against schemas that may `$ref` into `root`'s `$defs`."""

    def __init__(self, root: dict) -> None:
        self.root = root

    def first_error(self, value: object, schema: dict, path: str) -> str | None:
        """None if `value` matches, else "path: what is wrong"."""
        if "$ref" in schema:
            schema = self._resolve(schema["$ref"])
        kind = schema.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            if not any(_TYPES[k](value) for k in kinds):
                return f"{path}: expected {' or '.join(kinds)}, got {_json_type(value)}"
        if "const" in schema and value != schema["const"]:
            return f"{path}: must be {schema['const']!r}"
        if "enum" in schema and value not in schema["enum"]:
            return f"{path}: must be one of {schema['enum']}, got {value!r}"
        for key in ("oneOf", "anyOf"):
            if key in schema:
                errors = [self.first_error(value, s, path) for s in schema[key]]
                if all(errors):
                    return errors[0] if len(errors) == 1 else \
                        f"{path}: matches none of the allowed forms ({errors[0]})"
        if isinstance(value, str):
            return self._string(value, schema, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                return f"{path}: must be >= {schema['minimum']}, got {value}"
            if "maximum" in schema and value > schema["maximum"]:
                return f"{path}: must be <= {schema['maximum']}, got {value}"
        if isinstance(value, list):
            return self._array(value, schema, path)
        if isinstance(value, dict):
            return self._object(value, schema, path)
        return None

    def _string(self, value: str, schema: dict, path: str) -> str | None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{path}: shorter than {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path}: longer than {schema['maxLength']} characters"
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            what = schema.get("description", f"the pattern {schema['pattern']}")
            return f"{path}: {value[:80]!r} is not {what}"
        return None

    def _array(self, value: list, schema: dict, path: str) -> str | None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            return f"{path}: needs at least {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{path}: at most {schema['maxItems']} items, got {len(value)}"
        items = schema.get("items")
        if items is not None:
            for i, item in enumerate(value):
                err = self.first_error(item, items, f"{path}[{i}]")
                if err:
                    return err
        return None

    def _object(self, value: dict, schema: dict, path: str) -> str | None:
        props = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                return f"{path}.{name}: missing (required)"
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            sub = props.get(name)
            if sub is None:
                if extra is False:
                    return f"{path}.{name}: unknown field (allowed: {', '.join(props)})"
                if isinstance(extra, dict):
                    sub = extra
                else:
                    continue
            err = self.first_error(item, sub, f"{path}.{name}")
            if err:
                return err
        return None

    def _resolve(self, ref: str) -> dict:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref}")
        node: object = self.root
        for part in ref[2:].split("/"):
            node = node[part]  # type: ignore[index]
        return node  # type: ignore[return-value]
