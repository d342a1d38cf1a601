"""Bounded IN lists: the slices of a sequence are its values, in order, none longer than the bound."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.store.bounded import MAX_IN_LIST, slices


@given(st.lists(st.integers(), max_size=3_000), st.integers(1, 1_500))
def test_slices_cover_the_values_in_order_each_at_most_the_bound(values: list[int], size: int) -> None:
    parts = list(slices(values, size))
    assert [v for part in parts for v in part] == values
    assert all(1 <= len(part) <= size for part in parts)
    assert len(parts) == -(-len(values) // size)  # ceil: no empty slice, none more than needed


def test_the_default_bound_keeps_a_statement_far_under_postgresqls_65535_parameters() -> None:
    assert MAX_IN_LIST * 4 < 65_535  # four lists of the bound in one statement still fit
    with pytest.raises(ValueError, match="at least one"):
        list(slices([1], 0))
