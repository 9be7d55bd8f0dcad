"""Resolve a ``num_neighbors`` specification into per-hop, per-edge-type fan-outs.

Accepted forms (``k`` = neighbors per node per edge type; ``-1`` = all visible,
``0`` = none; at most :data:`MAX_HOPS` hops):

* ``[16, 8]`` -- one int per hop, for every edge type;
* ``[{"default": 16, "users.user_id->transactions.user_id": 128}, {"default": 8}]``
  -- per-hop dicts; a missing ``default`` means 0 for edge types not named;
* ``{"hop1": {...}, "hop2": {...}}`` -- hops by name (must be consecutive from 1);
* objects with ``hop1``..``hop6`` attributes whose values are ints, dicts or
  objects with a ``default`` attribute plus extra override fields (the reference
  ``NumNeighborsConfig`` / ``HopConfig``).

Override keys are direction-specific ``"srcTable.col->dstTable.col"``: traversing
from ``srcTable`` to ``dstTable``. ``users.user_id->transactions.user_id`` goes
from users (primary key ``user_id``) to the transactions referencing them, i.e.
store edge type ``(users, rev_user_id, transactions)``;
``transactions.user_id->users.user_id`` is the foreign-key direction. Keys match
case-insensitively when unambiguous. Primary-key names are checked only when
``pkeys`` is given. Edge-type tuples are accepted as keys too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from relgraph.errors import GraphError
from relgraph.store import EdgeType, GraphStore

MAX_HOPS = 6
_HOP_RE = re.compile(r"^hop(\d+)$")


def edge_type_key(store: GraphStore, edge_type: EdgeType, pkeys: Mapping[str, str] | None) -> str:
    """The ``"src.col->dst.col"`` key of a store edge type (``?`` for unknown keys)."""
    src_table, fkey, dst_table, direction = store.fkey_info(edge_type)
    pkey = (pkeys or {}).get(dst_table, "?")
    if direction == "forward":
        return f"{src_table}.{fkey}->{dst_table}.{pkey}"
    return f"{dst_table}.{pkey}->{src_table}.{fkey}"


def resolve_num_neighbors(
    spec: Any,
    store: GraphStore,
    pkeys: Mapping[str, str] | None = None,
) -> list[dict[EdgeType, int]]:
    """Turn ``spec`` into ``[{edge_type: k, ...} per hop]`` covering every edge type.

    Args:
        spec: any form listed in the module docstring.
        store: the graph store whose edge types the keys refer to.
        pkeys: primary-key column per table, used to validate override keys.

    Raises:
        GraphError: on unknown keys, bad counts or more than 6 hops.
    """
    hops = _hops(spec)
    if len(hops) > MAX_HOPS:
        raise GraphError(f"num_neighbors has {len(hops)} hops; at most {MAX_HOPS} are supported.")
    return [_resolve_hop(i + 1, hop, store, pkeys) for i, hop in enumerate(hops)]


def _hops(spec: Any) -> list[Any]:
    """Normalize the outer container to a list of per-hop specs."""
    if isinstance(spec, Mapping) and spec and all(_HOP_RE.match(str(k)) for k in spec):
        return _ordered_hops({str(k): v for k, v in spec.items()})
    if not isinstance(spec, (str, bytes, Mapping)) and hasattr(spec, "hop1"):
        named = {f"hop{i}": getattr(spec, f"hop{i}", None) for i in range(1, MAX_HOPS + 2)}
        return _ordered_hops({k: v for k, v in named.items() if v is not None})
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        items = list(spec)
        # A one-candidate list wrapping a hop-form spec (the reference's YAML form).
        if (
            len(items) == 1
            and not isinstance(items[0], int)
            and (
                (
                    isinstance(items[0], Mapping)
                    and items[0]
                    and all(_HOP_RE.match(str(k)) for k in items[0])
                )
                or hasattr(items[0], "hop1")
            )
        ):
            return _hops(items[0])
        return items
    raise GraphError(
        f"num_neighbors must be a list of ints, a list of per-hop dicts, a "
        f"{{'hop1': ..., 'hop2': ...}} mapping or a NumNeighborsConfig (got {spec!r})."
    )


def _ordered_hops(named: Mapping[str, Any]) -> list[Any]:
    numbers = sorted(int(_HOP_RE.match(k).group(1)) for k in named)  # type: ignore[union-attr]
    if numbers != list(range(1, len(numbers) + 1)):
        raise GraphError(f"num_neighbors hops must be consecutive from hop1 (got {sorted(named)}).")
    return [named[f"hop{i}"] for i in numbers]


def _match_key(
    key: Any,
    store: GraphStore,
    pkeys: Mapping[str, str] | None,
) -> EdgeType:
    if isinstance(key, tuple) and len(key) == 3:
        et = (str(key[0]), str(key[1]), str(key[2]))
        if et in store.edge_types:
            return et
    elif isinstance(key, str) and "->" in key:
        exact = {edge_type_key(store, et, pkeys): et for et in store.edge_types}
        if key in exact:
            return exact[key]
        src, _, dst = key.partition("->")
        src_table, _, src_col = src.strip().rpartition(".")
        dst_table, _, dst_col = dst.strip().rpartition(".")
        matches: list[EdgeType] = []
        for et in store.edge_types:
            s_tab, fkey, d_tab, direction = store.fkey_info(et)
            pkey = (pkeys or {}).get(d_tab)
            names: tuple[str | None, ...]
            if direction == "forward":
                names = (s_tab, fkey, d_tab, pkey)
            else:
                names = (d_tab, pkey, s_tab, fkey)
            got = (src_table, src_col, dst_table, dst_col)
            if all(n is None or n.lower() == g.lower() for n, g in zip(names, got)):
                matches.append(et)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise GraphError(
                f"num_neighbors key {key!r} matches several edge types {matches}; spell the "
                f"table and column names exactly (and pass pkeys) to disambiguate."
            )
    valid = sorted(edge_type_key(store, et, pkeys) for et in store.edge_types)
    raise GraphError(
        f"Unknown num_neighbors key {key!r}; valid keys are 'default' and the "
        f"direction-specific connections {valid} ('?' stands for the referenced "
        f"table's primary key)."
    )


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.lower() == "inferred":
            raise GraphError(
                f"num_neighbors {where} is 'inferred'; resolve it to an int (the model "
                f"planner does this) before building the sampler."
            )
        raise GraphError(f"num_neighbors {where} must be an int >= -1 (got {value!r}).")
    if value < -1:
        raise GraphError(f"num_neighbors {where} must be >= -1 (-1 = all, 0 = none) (got {value}).")
    return int(value)


def _hop_items(hop: Any) -> dict[Any, Any]:
    if isinstance(hop, Mapping):
        return dict(hop)
    if hasattr(hop, "model_dump"):
        return dict(hop.model_dump())
    if hasattr(hop, "__dict__"):
        items = {k: v for k, v in vars(hop).items() if not k.startswith("_")}
        extra = getattr(hop, "__pydantic_extra__", None)
        if isinstance(extra, Mapping):
            items.update(extra)
        return items
    raise GraphError(f"A num_neighbors hop must be an int, a dict or a HopConfig (got {hop!r}).")


def _resolve_hop(
    number: int,
    hop: Any,
    store: GraphStore,
    pkeys: Mapping[str, str] | None,
) -> dict[EdgeType, int]:
    if isinstance(hop, int) and not isinstance(hop, bool):
        k = _count(hop, f"hop{number}")
        return dict.fromkeys(store.edge_types, k)
    items = _hop_items(hop)
    default = items.pop("default", 0)
    default = 0 if default is None else _count(default, f"hop{number}.default")
    out = dict.fromkeys(store.edge_types, default)
    for key, value in items.items():
        if value is None:
            continue
        et = _match_key(key, store, pkeys)
        out[et] = _count(value, f"hop{number}[{key!r}]")
    return out
