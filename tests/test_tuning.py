"""The knobs of search and indexing: one object each, changed by copy, a misspelt knob refused."""

from __future__ import annotations

import pytest

from newsearch.tuning import DEFAULT_INDEX_TUNING, DEFAULT_TUNING, IndexTuning, Tuning


@pytest.mark.parametrize("knobs", [DEFAULT_TUNING, DEFAULT_INDEX_TUNING])
def test_a_knob_is_changed_on_a_copy_and_a_misspelt_one_is_refused(knobs):
    name = next(iter(vars(knobs)))
    changed = knobs.changed({name: 7})
    assert getattr(changed, name) == 7 and getattr(knobs, name) != 7
    assert type(changed) is type(knobs)
    with pytest.raises(ValueError, match="no such tuning knob: pasage_match_terms"):
        knobs.changed({"pasage_match_terms": 3})


def test_the_defaults_are_what_a_fresh_object_holds():
    assert Tuning() == DEFAULT_TUNING and IndexTuning() == DEFAULT_INDEX_TUNING
