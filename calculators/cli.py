"""The command line: ``python -m calculators <command>``.

Each command calls the same library functions as the app. Flag names are reused as the app's URL parameters and
as CSV column names. Exit codes: 0 success (an infeasible target is a successful answer), 1 an invalid catalog
file, 2 a bad argument, with one clear line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from calculators.catalog import catalog_from_texts, read_files, shipped_catalog_files
from calculators.commands import add_model_commands
from calculators.errors import CatalogError, RackscaleError


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_catalog_check(args: argparse.Namespace) -> int:
    """Validate catalog files: layered over the shipped catalog unless --standalone."""
    named = {Path(p).resolve() for p in args.paths}
    base = [] if args.standalone else [p for p in shipped_catalog_files() if p.resolve() not in named]
    try:
        catalog = catalog_from_texts(read_files([*base, *args.paths]))
    except CatalogError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {len(args.paths)} file(s)", file=sys.stderr)
        return 1
    print(
        f"ok: {len(args.paths)} file(s) valid: {len(catalog.accelerators)} accelerators, {len(catalog.systems)} "
        f"systems, {len(catalog.models)} models, {len(catalog.sources)} sources, "
        f"{len(catalog.validation)} validation points"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser; each command module adds its subcommand here."""
    parser = _Parser(prog="python -m calculators", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    catalog = commands.add_parser("catalog", help="work with catalog files")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True, parser_class=_Parser)
    check = catalog_commands.add_parser("check", help="validate catalog YAML files")
    check.add_argument("paths", nargs="+", metavar="PATH", help="catalog YAML files")
    check.add_argument(
        "--standalone", action="store_true", help="check the files alone, not layered over the shipped catalog"
    )
    check.set_defaults(run=_cmd_catalog_check)

    add_model_commands(commands, add_catalog_option)
    return parser


def add_catalog_option(parser: argparse.ArgumentParser) -> None:
    """``--catalog PATH``: extra catalog files layered over the shipped one (user chips override or extend)."""
    parser.add_argument("--catalog", nargs="+", default=[], metavar="PATH", help="extra catalog YAML files")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader (e.g. `| head`) closed the pipe: not an error of ours; silence the flush at exit too.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits
        return 0
    except CatalogError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except (RackscaleError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
