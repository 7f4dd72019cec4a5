#!/usr/bin/env python3
"""Validates experiment files against schemas/experiment.schema.json with python `jsonschema`,
independently of runner's own loader.

    python3 schemas/validate.py experiments/*.yaml          # human-readable, exit 1 if any is invalid
    python3 schemas/validate.py --json FILE...              # one JSON report on stdout

YAML is read with YAML 1.2 core scalars (as runner reads it): `1e-4` is a number, `yes`/`on`
are strings, `02:00:00` is a string. Exit code 2 when PyYAML or jsonschema is missing.
"""
import json
import os
import re
import sys

try:
    import yaml
    import jsonschema
except ImportError as e:  # the Swift test turns this into a clear failure
    print(f"missing python module: {e.name} (pip install pyyaml jsonschema)", file=sys.stderr)
    sys.exit(2)


class CoreLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalar resolution (no YAML 1.1 yes/no, sexagesimal, dates)."""


CoreLoader.yaml_implicit_resolvers = {}
for tag, pattern, first in [
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+0123456789.")),
]:
    CoreLoader.add_implicit_resolver(tag, re.compile(pattern), first)


def construct_float(loader, node):
    text = loader.construct_scalar(node)
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)


CoreLoader.add_constructor("tag:yaml.org,2002:float", construct_float)


def keys_to_strings(value):
    if isinstance(value, dict):
        return {str(k): keys_to_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_to_strings(v) for v in value]
    return value


def dotted(path):
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out


def validate(validator, path):
    try:
        with open(path, encoding="utf-8") as f:
            document = yaml.load(f, Loader=CoreLoader)
    except (OSError, yaml.YAMLError) as e:
        return [{"path": "", "message": f"YAML: {e}"}]
    document = keys_to_strings({} if document is None else document)
    errors = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        # "not valid under any of the given schemas": report the alternative that came closest,
        # i.e. the deepest error that is not a mere type mismatch with another alternative.
        while error.context:
            error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator not in ("type", "const"),
                                                     len(e.schema_path)))
        errors.append({"path": dotted(error.absolute_path), "message": error.message})
    return errors


def main(argv):
    as_json = "--json" in argv
    files = [a for a in argv if a != "--json"]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "experiment.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    report = [{"file": p, "errors": validate(validator, p)} for p in files]
    if as_json:
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        for r in report:
            for e in r["errors"]:
                print(f"{r['file']}: {e['path'] or '(document)'}: {e['message']}")
        bad = sum(1 for r in report if r["errors"])
        print(f"{len(report) - bad} valid, {bad} invalid")
    return 1 if any(r["errors"] for r in report) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
