"""resolve_num_neighbors: every accepted spec form, key matching and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from relgraph.errors import GraphError
from relgraph.sampling import edge_type_key, resolve_num_neighbors
from relgraph.store import GraphStore
from relgraph.testing.synthetic_arrays import random_arrays

PKEYS = {"users": "user_id", "items": "item_id", "transactions": "txn_id", "reviews": "review_id"}
U2T = ("users", "rev_user_id", "transactions")
T2U = ("transactions", "user_id", "users")
T2I = ("transactions", "item_id", "items")


@pytest.fixture(scope="module")
def store() -> GraphStore:
    return GraphStore.from_arrays(*random_arrays(seed=0))


def test_list_of_ints(store: GraphStore) -> None:
    plan = resolve_num_neighbors([16, -1, 0], store)
    assert len(plan) == 3
    assert all(set(hop) == set(store.edge_types) for hop in plan)
    assert [hop[U2T] for hop in plan] == [16, -1, 0]


def test_per_hop_dicts_with_direction_specific_keys(store: GraphStore) -> None:
    plan = resolve_num_neighbors(
        [
            {"default": 16, "users.user_id->transactions.user_id": 128},
            {"default": 8, "transactions.user_id->users.user_id": 0},
        ],
        store,
        PKEYS,
    )
    assert plan[0][U2T] == 128 and plan[0][T2U] == 16 and plan[0][T2I] == 16
    assert plan[1][T2U] == 0 and plan[1][U2T] == 8


def test_keys_match_case_insensitively_without_pkeys(store: GraphStore) -> None:
    plan = resolve_num_neighbors([{"USERS.USER_ID->TRANSACTIONS.USER_ID": 5}], store)
    assert plan[0][U2T] == 5
    assert plan[0][T2U] == 0  # no default given: other edge types are not sampled


def test_hop_named_mapping_and_yaml_list_form(store: GraphStore) -> None:
    spec = {"hop2": {"default": 2}, "hop1": {"default": 3, T2I: 1}}
    assert [h[T2I] for h in resolve_num_neighbors(spec, store)] == [1, 2]
    assert [h[T2I] for h in resolve_num_neighbors([spec], store)] == [1, 2]


@dataclass
class HopConfig:
    default: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def model_dump(self) -> dict[str, Any]:
        return {"default": self.default, **self.extra}


@dataclass
class NumNeighborsConfig:
    hop1: HopConfig | None = None
    hop2: HopConfig | None = None
    hop3: HopConfig | None = None


def test_config_objects(store: GraphStore) -> None:
    cfg = NumNeighborsConfig(
        hop1=HopConfig(16, {"users.user_id->transactions.user_id": 64}), hop2=HopConfig(4)
    )
    plan = resolve_num_neighbors(cfg, store, PKEYS)
    assert plan[0][U2T] == 64 and plan[1][U2T] == 4 and len(plan) == 2


def test_edge_type_key_round_trip(store: GraphStore) -> None:
    for et in store.edge_types:
        key = edge_type_key(store, et, PKEYS)
        plan = resolve_num_neighbors([{key: 7}], store, PKEYS)
        assert [e for e, k in plan[0].items() if k == 7] == [et]
    assert edge_type_key(store, U2T, PKEYS) == "users.user_id->transactions.user_id"
    assert edge_type_key(store, T2U, None) == "transactions.user_id->users.?"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ([{"users.user_id->items.item_id": 3}], "valid keys are 'default'"),
        ([{"users.nope->transactions.user_id": 3}], "Unknown num_neighbors key"),
        ([1, 2, 3, 4, 5, 6, 7], "at most 6"),
        ([-2], ">= -1"),
        ([{"default": "inferred"}], "resolve it to an int"),
        ([{"default": 1.5}], "must be an int"),
        ({"hop1": 2, "hop3": 2}, "consecutive"),
        ("16", "must be a list"),
        ([object()], "must be an int, a dict or a HopConfig"),
    ],
)
def test_errors(store: GraphStore, spec: Any, match: str) -> None:
    with pytest.raises(GraphError, match=match):
        resolve_num_neighbors(spec, store, PKEYS)


def test_wrong_pkey_is_rejected_when_pkeys_known(store: GraphStore) -> None:
    with pytest.raises(GraphError, match=r"users\.user_id->transactions\.user_id"):
        resolve_num_neighbors([{"users.id->transactions.user_id": 1}], store, PKEYS)
    # without pkeys the primary-key column is not checked
    assert resolve_num_neighbors([{"users.id->transactions.user_id": 1}], store)[0][U2T] == 1
