"""`LRFinder` reads its result through one forwarding `__getattr__`, re-declaring nothing."""

import copy
import json
import math

import pytest
from saved_range_tests import VALID

import keras_lr
from keras_lr.callbacks.lr_finder import NoResultError
from keras_lr.core.result import RESULT_NAMES


def test_the_finder_declares_none_of_the_result_members():
    declared = set(vars(keras_lr.LRFinder)) & RESULT_NAMES
    assert not declared, declared
    # ... and every public member of the result is reachable through it.
    assert {"lrs", "losses", "diagnosis", "suggestion", "suggest_range", "plot", "summary"} <= (
        RESULT_NAMES
    )


def test_before_a_test_the_record_is_empty_and_readings_say_to_run_it():
    finder = keras_lr.LRFinder(verbose=0)
    assert finder.lrs == [] and finder.losses == [] and finder.runs == []
    assert finder.best_lr is None and finder.best_loss == math.inf
    assert finder.stop_reason is None and finder.diverged is False
    for name in ("diagnosis", "summary", "suggestion", "plot", "reliable"):
        with pytest.raises(ValueError, match="has not run yet") as error:
            getattr(finder, name)
        assert isinstance(error.value, NoResultError)
        assert not hasattr(finder, name)
    with pytest.raises(AttributeError, match="no attribute 'bogus'"):
        finder.bogus  # noqa: B018
    copy.deepcopy(finder)  # no recursion through __getattr__


def test_a_loaded_finder_forwards_to_its_result(tmp_path):
    path = tmp_path / "range_test.json"
    path.write_text(json.dumps(VALID), encoding="utf-8")
    finder = keras_lr.LRFinder.load(path)
    result = finder.result
    assert isinstance(result, keras_lr.RangeTest)
    for name in ("lrs", "losses", "raw_losses", "steps", "val_lrs", "runs", "best_lr"):
        assert getattr(finder, name) is getattr(result, name), name
    assert finder.lrs == VALID["lrs"] and finder.val_every == 2
    assert finder.diagnosis == result.diagnosis
    assert finder.summary() == result.summary()
    assert {"lrs", "diagnosis", "plot"} <= set(dir(finder))
    # The finder's own members stay its own: the file keeps its whole config.
    saved = tmp_path / "again.json"
    finder.save(saved)
    assert json.loads(saved.read_text(encoding="utf-8"))["config"] == VALID["config"]
