"""Entry point of the ``relgraph`` command."""

from __future__ import annotations

import argparse
import sys

from relgraph.cli import commands, jobs, quickstart
from relgraph.errors import RelgraphError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relgraph", description="Predictive queries on "
                                     "relational data with graph neural networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    quickstart.add_parser(sub)
    commands.add_parsers(sub)
    commands.add_explain_parser(sub)
    jobs.add_parser(sub)
    jobs.add_gc_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except RelgraphError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
