#!/usr/bin/python3
"""Validates lpsim reports against reports/schema/report.schema.json.

    validate_reports.py [--schema FILE] [--allow-empty] PATH...

Each PATH is a report file or a directory searched recursively for files named
report.json. Every violation is printed as `FILE: /json/pointer: message`.

Exit codes: 0 every report is valid; 1 a report is invalid or not JSON; 2 bad usage,
no report found (unless --allow-empty), or python3-jsonschema missing.

Needs Debian's python3-jsonschema (>= 4, for draft 2020-12): run it with /usr/bin/python3.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "schema", "report.schema.json")


def json_pointer(path):
    """RFC 6901 pointer of a jsonschema error path (a deque of keys and indices)."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def reject_constant(name):
    # json.loads accepts NaN and Infinity, which are not JSON: lpsim must never write them.
    raise ValueError(f"{name} is not valid JSON")


def find_reports(paths):
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                if "report.json" in files:
                    found.append(os.path.join(root, "report.json"))
        else:
            found.append(path)
    return found


def short_message(error):
    """The error's message with a long instance abbreviated (`<object>`, `<array>`)."""
    if error.schema is False:  # `"key": false`: a field the report's mode must not have
        kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
                 int: "a number", float: "a number", type(None): "null"}
        return f"must be absent in this report's mode (found {kinds[type(error.instance)]})"
    message = error.message
    shown = repr(error.instance)
    if len(shown) > 80 and message.startswith(shown):
        kind = {dict: "<object>", list: "<array>"}.get(type(error.instance), shown[:60] + "...")
        message = kind + message[len(shown):]
    return message


def describe(error):
    """(pointer, message) lines for an error. For oneOf/anyOf, the errors of the alternative
    that came closest: the fewest errors at the instance itself (a wrong type or
    discriminator rules an alternative out), then the fewest errors."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        by_alternative = {}
        for inner in error.context:
            by_alternative.setdefault(inner.relative_schema_path[0], []).append(inner)
        depth = len(error.absolute_path)

        def score(errors):
            return (sum(1 for e in errors if len(e.absolute_path) == depth), len(errors))

        closest = min(by_alternative.values(), key=score)
        return [line for inner in closest for line in describe(inner)]
    return [(json_pointer(error.absolute_path), short_message(error))]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="report file or directory")
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="schema file (default: %(default)s)")
    parser.add_argument("--allow-empty", action="store_true", help="no report found is not an error")
    args = parser.parse_args(argv)

    try:
        import jsonschema
    except ImportError:
        print("validate_reports: python3-jsonschema is missing (apt-get install python3-jsonschema; "
              f"this is {sys.executable})", file=sys.stderr)
        return 2
    if not hasattr(jsonschema, "Draft202012Validator"):
        print("validate_reports: jsonschema >= 4 is needed for draft 2020-12", file=sys.stderr)
        return 2

    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    reports = find_reports(args.paths)
    if not reports:
        print(f"validate_reports: no report.json under {' '.join(args.paths)}", file=sys.stderr)
        return 0 if args.allow_empty else 2

    bad = 0
    for path in reports:
        try:
            with open(path, encoding="utf-8") as f:
                report = json.load(f, parse_constant=reject_constant)
        except (OSError, ValueError) as e:
            print(f"{path}: /: cannot read: {e}")
            bad += 1
            continue
        errors = sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))
        lines = []  # the same violation can be reached by two rules (e.g. a mode's `then`)
        for error in errors:
            for line in describe(error):
                if line not in lines:
                    lines.append(line)
        for pointer, message in lines:
            print(f"{path}: {pointer}: {message}")
        if errors:
            bad += 1
    print(f"validate_reports: {len(reports) - bad} of {len(reports)} reports valid "
          f"({os.path.relpath(args.schema)})", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
