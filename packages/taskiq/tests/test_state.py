"""TaskiqState: one namespace, reachable as attributes, items and get/set_value."""

from __future__ import annotations

import pytest
from taskiq import TaskiqState


def test_attributes_items_and_values_share_storage() -> None:
    state = TaskiqState()
    state.pool = "pool"
    state["cache"] = "cache"
    state.set_value("client", "client")
    assert (state["pool"], state.get_value("pool")) == ("pool", "pool")
    assert (state.cache, state.get_value("cache")) == ("cache", "cache")
    assert (state.client, state["client"]) == ("client", "client")
    assert "pool" in state
    assert "missing" not in state


def test_get_value_returns_the_default_for_missing_keys() -> None:
    state = TaskiqState()
    assert state.get_value("missing") is None
    assert state.get_value("missing", 5) == 5


def test_missing_attribute_error_names_the_key_and_the_fix() -> None:
    with pytest.raises(AttributeError, match=r"no value 'db_pool'.*startup event handler"):
        _ = TaskiqState().db_pool


def test_missing_item_raises_key_error() -> None:
    with pytest.raises(KeyError):
        _ = TaskiqState()["missing"]


def test_deleting_removes_the_value_everywhere() -> None:
    state = TaskiqState()
    state.pool = 1
    del state.pool
    assert state.get_value("pool") is None
    state["pool"] = 2
    del state["pool"]
    assert "pool" not in state
    with pytest.raises(AttributeError):
        del state.pool


def test_states_are_independent() -> None:
    first, second = TaskiqState(), TaskiqState()
    first.value = 1
    assert "value" not in second


def test_repr_shows_the_values() -> None:
    state = TaskiqState()
    state.set_value("a", 1)
    assert repr(state) == "TaskiqState({'a': 1})"


def test_dict_methods_taskiq_users_call() -> None:
    state = TaskiqState()
    state.pool = "pool"
    assert (state.get("pool"), state.get("missing"), state.get("missing", 3)) == ("pool", None, 3)
    assert state.setdefault("hits", 0) == 0
    state.update({"hits": 2}, region="eu")
    assert (len(state), sorted(state), list(state.keys())) == (
        3,
        ["hits", "pool", "region"],
        ["pool", "hits", "region"],
    )
    assert dict(state.items()) == {"pool": "pool", "hits": 2, "region": "eu"}
    assert list(state.values()) == ["pool", 2, "eu"]
    assert state == {"pool": "pool", "hits": 2, "region": "eu"}
    assert state.copy() == {"pool": "pool", "hits": 2, "region": "eu"}
    assert state.pop("region") == "eu"
    assert state.pop("region", None) is None
    del state["hits"]
    assert ("hits" in state, state.region if "region" in state else None) == (False, None)
    state.clear()
    assert not state
    assert len(state) == 0


def test_a_key_named_like_a_method_is_an_item() -> None:
    state = TaskiqState()
    state["items"] = [1]
    assert state["items"] == [1]
    assert callable(state.items)
