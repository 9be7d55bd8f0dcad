"""The neighbor-sampling sub-plan (``plan.neighbor_sampling``): per-hop and per-edge-type
neighbor counts."""

from __future__ import annotations

import numbers
import re
from typing import Annotated, Any, ClassVar, Optional, Union

from pydantic import BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator

from relgraph.errors import PlanError
from relgraph.plan.base import _dump, _PlanBase, _SectionBase
from relgraph.plan.checks import (
    _TUNABLE,
    NODE_TASKS,
    Bool,
    Broken,
    Candidates,
    Int,
    Metadata,
    Missable,
    OrInferred,
    Rule,
    Tunable,
)
from relgraph.plan.enums import MISSING
from relgraph.task import QueryType

# ---------------------------------------------------------------------------------------
# Neighbor sampling
# ---------------------------------------------------------------------------------------

_EDGE_KEY = re.compile(r"^[^.>\s][^>]*\.[^>]+->[^.]+\..+$")

#: Neighbors sampled per edge type in one hop: -1 = all, 0 = none.
HopCount = Annotated[Int, Field(ge=-1, le=128)]


class HopConfig(_PlanBase):
    """Neighbors sampled in one hop: ``default`` per edge type plus per-edge overrides.

    Override keys have the form ``"SRC_TABLE.key->DST_TABLE.key"`` (direction-specific)
    and take an int in [-1, 512] or ``"inferred"``: ``HopConfig(default=16,
    **{"USERS.USER_ID->TRANSACTIONS.USER_ID": 128})``. ``-1`` = all neighbors, ``0`` = none.
    """

    model_config = ConfigDict(validate_assignment=True, extra="allow", arbitrary_types_allowed=True)

    default: HopCount
    __pydantic_extra__: dict[str, OrInferred[Annotated[Int, Field(ge=-1, le=512)]]] = Field(
        init=False
    )

    @model_validator(mode="after")
    def _check_overrides(self) -> HopConfig:
        for key in self.__pydantic_extra__ or {}:
            if "->" not in key:
                raise Broken(
                    "override keys must look like 'SRC_TABLE.key->DST_TABLE.key'", key, key
                )
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


def _hop_shorthand(v: Any) -> Any:
    return {"default": v} if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v


_HOP = Optional[  # noqa: UP045
    Annotated[
        HopConfig,
        BeforeValidator(_hop_shorthand),
        Rule("must be a HopConfig, an int or a dict"),
    ]
]


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
            raise Broken("hop1 must be set", None, "hop1")
        seen_gap = False
        for i, h in enumerate(hops, start=1):
            if h is None:
                seen_gap = True
            elif seen_gap:
                raise Broken("hops must be consecutive (hop1, hop2, ...)", h.default, f"hop{i}")
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


def _nn_is_candidate(v: Any) -> bool:
    return len(v) > 0 and all(
        isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in v
    )


def _nn_kind(v: Any) -> str | None:
    if isinstance(v, (NumNeighborsConfig, dict)):
        return "config"
    return "hops" if isinstance(v, (list, tuple)) else None


def _hop_counts(scheme: Any) -> list[int | str]:
    """All counts (defaults and overrides) of one num_neighbors candidate."""
    if isinstance(scheme, NumNeighborsConfig):
        out: list[int | str] = []
        for h in scheme.hops:
            out.append(h.default)
            out.extend(h.overrides.values())
        return out
    return list(scheme)



#: One ``num_neighbors`` candidate: per-hop counts (``[16, 8]``) or a NumNeighborsConfig.
NumNeighbors = Annotated[
    Union[  # noqa: UP007
        Annotated[NumNeighborsConfig, Tag("config")],
        Annotated[
            list[HopCount], Tag("hops"), Field(min_length=1, max_length=6),
            Rule("must list 1 to 6 hops"),
        ],
    ],
    Discriminator(_nn_kind),
    Rule("must be a list of per-hop ints (e.g. [16, 8]) or a NumNeighborsConfig"),
]


class NeighborSamplingPlan(_SectionBase):
    """Subgraph sampling (``model_plan.neighbor_sampling``).

    ``num_neighbors`` candidates are either simple per-hop lists (``[[16, 8]]``: ints in
    [-1, 128], at most 6 hops) or :class:`NumNeighborsConfig` objects.
    """

    _path: ClassVar[str] = "neighbor_sampling"

    num_neighbors: Missable[
        Annotated[list[NumNeighbors], Candidates(_nn_is_candidate), Field(min_length=1)]
    ] = MISSING
    sample_from_entity_table: Missable[Bool] = MISSING
    adaptive_sampling: Bool = False
    max_target_neighbors_per_entity: Missable[
        Tunable[OrInferred[Annotated[Int, Field(ge=-1, le=512)]]]
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
                    raise Broken(
                        "adaptive_sampling needs non-negative neighbor counts",
                        scheme if isinstance(scheme, list) else _dump(scheme),
                        "num_neighbors",
                        i,
                    )
        return self
