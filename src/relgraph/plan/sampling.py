"""The neighbor-sampling sub-plan (``plan.neighbor_sampling``): per-hop and per-edge-type
neighbor counts."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Optional, Union

from pydantic import ConfigDict, model_validator

from relgraph.errors import PlanError
from relgraph.plan.base import _dump, _PlanBase, _SectionBase
from relgraph.plan.checks import (
    _TUNABLE,
    _V,
    NODE_TASKS,
    Metadata,
    _bool,
    _custom,
    _FieldError,
    _int,
    _is_int,
    _m,
    _or_inferred,
    _tunable,
)
from relgraph.plan.enums import MISSING, MissingType
from relgraph.task import QueryType

# ---------------------------------------------------------------------------------------
# Neighbor sampling
# ---------------------------------------------------------------------------------------

_EDGE_KEY = re.compile(r"^[^.>\s][^>]*\.[^>]+->[^.]+\..+$")


class HopConfig(_PlanBase):
    """Neighbors sampled in one hop: ``default`` per edge type plus per-edge overrides.

    Override keys have the form ``"SRC_TABLE.key->DST_TABLE.key"`` (direction-specific)
    and take an int in [-1, 512] or ``"inferred"``: ``HopConfig(default=16,
    **{"USERS.USER_ID->TRANSACTIONS.USER_ID": 128})``. ``-1`` = all neighbors, ``0`` = none.
    """

    model_config = ConfigDict(validate_assignment=True, extra="allow", arbitrary_types_allowed=True)

    default: Annotated[int, _V(_int(-1, 128))]

    @model_validator(mode="after")
    def _check_overrides(self) -> HopConfig:
        extra = self.__pydantic_extra__ or {}
        for key, val in list(extra.items()):
            sub = f"[{key!r}]"
            if "->" not in key:
                raise _custom(
                    "override keys must look like 'SRC_TABLE.key->DST_TABLE.key'", key, sub
                )
            try:
                extra[key] = _or_inferred(_int(-1, 512))(val)
            except _FieldError as e:
                raise _custom(e.reason, val, sub) from None
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        before = dict(self.__pydantic_extra__ or {})
        try:
            super().__setattr__(name, value)
        except PlanError:
            if self.__pydantic_extra__ is not None:
                self.__pydantic_extra__.clear()
                self.__pydantic_extra__.update(before)
            raise

    @property
    def overrides(self) -> dict[str, int | str]:
        """Per-edge overrides ``{"A.x->B.y": count}``."""
        return dict(self.__pydantic_extra__ or {})

    def __getitem__(self, key: str) -> int | str:
        if key == "default":
            return self.default
        return self.overrides[key]

    def to_dict(self) -> dict[str, Any]:
        return {"default": self.default, **_dump(self.overrides)}


def _hop(v: Any) -> Any:
    if v is None or isinstance(v, HopConfig):
        return v
    if _is_int(v):
        return HopConfig(default=_int(-1, 128)(v))
    if isinstance(v, dict):
        return HopConfig._parse(v)
    raise _FieldError("must be a HopConfig, an int or a dict", v)


_HOP = Annotated[Optional[HopConfig], _V(_hop)]  # noqa: UP045


class NumNeighborsConfig(_PlanBase):
    """Rich per-hop sampling scheme (``hop1`` .. ``hop6``, consecutive from ``hop1``)."""

    hop1: _HOP = None
    hop2: _HOP = None
    hop3: _HOP = None
    hop4: _HOP = None
    hop5: _HOP = None
    hop6: _HOP = None

    @model_validator(mode="after")
    def _check_consecutive(self) -> NumNeighborsConfig:
        hops = [getattr(self, f"hop{i}") for i in range(1, 7)]
        if hops[0] is None:
            raise _custom("hop1 must be set", None, ".hop1")
        seen_gap = False
        for i, h in enumerate(hops, start=1):
            if h is None:
                seen_gap = True
            elif seen_gap:
                raise _custom("hops must be consecutive (hop1, hop2, ...)", h.default, f".hop{i}")
        return self

    @property
    def hops(self) -> list[HopConfig]:
        """The set hops in order."""
        return [h for h in (getattr(self, f"hop{i}") for i in range(1, 7)) if h is not None]

    @property
    def num_hops(self) -> int:
        return len(self.hops)

    def to_dict(self) -> dict[str, Any]:
        return {f"hop{i}": h.to_dict() for i, h in enumerate(self.hops, start=1)}


_simple_hop = _int(-1, 128)


def _num_neighbors_elem(v: Any) -> Any:
    if isinstance(v, NumNeighborsConfig):
        return v
    if isinstance(v, dict):
        return NumNeighborsConfig._parse(v)
    if isinstance(v, (list, tuple)):
        if not 1 <= len(v) <= 6:
            raise _FieldError("must list 1 to 6 hops", v)
        out = []
        for i, x in enumerate(v):
            try:
                out.append(_simple_hop(x))
            except _FieldError as e:
                raise e.under(f"[{i}]") from None
        return out
    raise _FieldError("must be a list of per-hop ints (e.g. [16, 8]) or a NumNeighborsConfig", v)


def _nn_is_candidate(v: Any) -> bool:
    return len(v) > 0 and all(_is_int(x) for x in v)


def _hop_counts(scheme: Any) -> list[int | str]:
    """All counts (defaults and overrides) of one num_neighbors candidate."""
    if isinstance(scheme, NumNeighborsConfig):
        out: list[int | str] = []
        for h in scheme.hops:
            out.append(h.default)
            out.extend(h.overrides.values())
        return out
    return list(scheme)



NumNeighbors = Union[NumNeighborsConfig, list[int]]  # noqa: UP007


class NeighborSamplingPlan(_SectionBase):
    """Subgraph sampling (``model_plan.neighbor_sampling``).

    ``num_neighbors`` candidates are either simple per-hop lists (``[[16, 8]]``: ints in
    [-1, 128], at most 6 hops) or :class:`NumNeighborsConfig` objects.
    """

    _path: ClassVar[str] = "neighbor_sampling"

    num_neighbors: Annotated[
        list[NumNeighbors] | MissingType, _V(_tunable(_num_neighbors_elem, _nn_is_candidate))
    ] = MISSING
    sample_from_entity_table: Annotated[bool | MissingType, _V(_m(_bool))] = MISSING
    adaptive_sampling: Annotated[bool, _V(_bool)] = False
    max_target_neighbors_per_entity: Annotated[
        list[int | str] | MissingType, _V(_tunable(_or_inferred(_int(-1, 512))))
    ] = MISSING

    _meta: ClassVar[dict[str, Metadata]] = {
        "num_neighbors": _TUNABLE,
        "sample_from_entity_table": Metadata(
            valid_task_types=NODE_TASKS, valid_query_types=(QueryType.STATIC,)
        ),
        "max_target_neighbors_per_entity": Metadata(tunable=True, hidden=True),
    }

    @model_validator(mode="after")
    def _check_adaptive(self) -> NeighborSamplingPlan:
        if self.adaptive_sampling and isinstance(self.num_neighbors, list):
            for i, scheme in enumerate(self.num_neighbors):
                if any(isinstance(c, int) and c < 0 for c in _hop_counts(scheme)):
                    raise _custom(
                        "adaptive_sampling needs non-negative neighbor counts",
                        scheme if isinstance(scheme, list) else _dump(scheme),
                        f"num_neighbors[{i}]",
                    )
        return self
