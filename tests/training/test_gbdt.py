"""The GBDT learner: bagged boosters, refits with fixed rounds, saving as LightGBM text."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from relgraph.errors import ArtifactError
from relgraph.task import TaskType
from relgraph.training.gbdt import BAG, GBDTModel, _matrix


def _data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "noise": rng.normal(size=n)})
    y = 3.0 * x["a"].to_numpy() + np.sin(3 * x["b"].to_numpy()) + rng.normal(0, 0.5, n)
    split = np.array(["train"] * (n - 200) + ["val"] * 100 + ["test"] * 100, dtype=object)
    return x, y, split


def test_a_bag_is_the_mean_of_its_boosters_fitted_alone() -> None:
    x, y, split = _data()
    bagged = GBDTModel.fit(TaskType.REGRESSION, x, y, split, "mae", seed=5)
    assert bagged.bag == BAG and len(bagged.boosters) == BAG
    singles = [GBDTModel.fit(TaskType.REGRESSION, x, y, split, "mae", seed=5 + k, bag=1)
               for k in range(BAG)]
    np.testing.assert_allclose(bagged.predict(x), np.mean([m.predict(x) for m in singles], 0),
                               rtol=1e-5, atol=1e-5)
    assert bagged.rounds == [m.rounds[0] for m in singles]


def test_a_cross_fitted_member_skips_its_fold() -> None:
    """Member ``k`` of a cross-fitted bag never trains on fold ``k``: on a target it can
    only memorize, it predicts that fold no better than the mean, and the rows of the
    other folds it trained on nearly exactly; rows in no fold train every member."""
    rng = np.random.default_rng(0)
    n = 900
    x = pd.DataFrame({"row_id": rng.permutation(n).astype(float)})
    y = rng.normal(0.0, 1.0, n)
    split = np.array(["train"] * 700 + ["val"] * 100 + ["test"] * 100, dtype=object)
    folds = np.full(n, -1)
    folds[:600] = np.arange(600) % BAG
    model = GBDTModel.fit(TaskType.REGRESSION, x, y, split, "mse", seed=0, folds=folds,
                          rounds=[200] * BAG)
    for k in range(BAG):
        pred = model.predict(x, member=k)
        held, seen = folds == k, (split == "train") & (folds != k)
        assert abs(np.corrcoef(pred[held], y[held])[0, 1]) < 0.15
        assert np.corrcoef(pred[seen], y[seen])[0, 1] > 0.5
    np.testing.assert_allclose(model.predict(x), np.mean(
        [model.predict(x, member=k) for k in range(BAG)], axis=0), rtol=1e-5, atol=1e-6)
    unfolded = GBDTModel.fit(TaskType.REGRESSION, x, y, split, "mse", seed=0,
                             folds=np.full(n, -1), rounds=[200] * BAG)
    plain = GBDTModel.fit(TaskType.REGRESSION, x, y, split, "mse", seed=0, rounds=[200] * BAG)
    np.testing.assert_array_equal(unfolded.predict(x), plain.predict(x))


def test_bagging_lowers_test_error_on_noisy_targets() -> None:
    """Averaging seeds removes subsampling noise: across data draws, the bag's test error
    is below a single booster's on average."""
    gains = []
    for seed in range(4):
        x, y, split = _data(seed=seed)
        test = split == "test"
        one = GBDTModel.fit(TaskType.REGRESSION, x, y, split, "mae", seed=seed, bag=1)
        bag = GBDTModel.fit(TaskType.REGRESSION, x, y, split, "mae", seed=seed)
        gains.append(np.abs(one.predict(x)[test] - y[test]).mean()
                     - np.abs(bag.predict(x)[test] - y[test]).mean())
    assert np.mean(gains) > 0


def test_forecasting_bags_each_step_and_refits_with_each_boosters_rounds() -> None:
    x, y, split = _data()
    y2 = np.stack([y, 2 * y], axis=1)
    model = GBDTModel.fit(TaskType.FORECASTING, x, y2, split, "mae", seed=0, bag=2)
    assert len(model.boosters) == 4 and model.predict(x).shape == (len(x), 2)
    refit = GBDTModel.fit(TaskType.FORECASTING, x, y2, split, "mae", seed=0, bag=2,
                          train_splits=("train", "val"), rounds=model.rounds)
    assert refit.rounds == model.rounds


def test_saved_bag_round_trips_and_a_broken_bag_is_refused(tmp_path) -> None:
    x, y, split = _data()
    labels = (y > np.median(y)).astype(float)
    model = GBDTModel.fit(TaskType.BINARY_CLASSIFICATION, x, labels, split, "auroc", seed=1)
    model.save(tmp_path)
    meta = json.loads((tmp_path / "gbdt.json").read_text())
    texts = [(tmp_path / f"gbdt_{j}.txt").read_text() for j in range(meta["num_boosters"])]
    loaded = GBDTModel.from_saved(meta, texts)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.rounds == model.rounds and loaded.num_trees == model.num_trees > 0
    with pytest.raises(ArtifactError, match="bags of 3"):
        GBDTModel.from_saved(meta, texts[:2])
    # a model saved before bagging (no "bag" key) is one booster per step
    old = GBDTModel.from_saved({k: v for k, v in meta.items() if k != "bag"}, texts[:1])
    assert old.bag == 1 and old.predict(x).shape == (len(x),)


def test_predictions_equal_lightgbms_own_reading_of_the_frame(tmp_path) -> None:
    """The bag converts a frame once for all its boosters; each booster predicts exactly
    what LightGBM predicts from the DataFrame itself: float32 and missing numbers, and
    categoricals whose categories are ordered differently, unseen or missing."""
    rng = np.random.default_rng(3)
    n = 900
    colour = rng.choice(["red", "green", "blue"], size=n)
    x = pd.DataFrame({"a": rng.normal(size=n).astype(np.float32),
                      "colour": pd.Categorical(colour, categories=["red", "green", "blue"]),
                      "b": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n))})
    y = np.select([colour == "red", colour == "green"], [0, 1], 2).astype(float)
    y = np.where(x["a"].to_numpy() > 1.0, 2.0, y)
    split = np.array(["train"] * 700 + ["val"] * 200, dtype=object)
    model = GBDTModel.fit(TaskType.MULTICLASS_CLASSIFICATION, x, y, split, "acc", seed=0,
                          num_classes=3)
    other = x.iloc[:50].copy()
    other["colour"] = pd.Categorical(
        np.where(np.arange(50) % 7 == 0, None, np.where(np.arange(50) % 5 == 0, "pink",
                                                        colour[:50])),
        categories=["blue", "pink", "green", "red"])
    for frame in (x, other):
        expected = np.mean([b.predict(frame, num_iteration=b.best_iteration or None)
                            for b in model.boosters], axis=0)
        np.testing.assert_array_equal(model.predict(frame), expected.astype(np.float32))
    assert model.predict(other).shape == (50, 3)


def test_a_cross_fitted_bag_converts_frames_too() -> None:
    """Boosters fitted on subsets of one Dataset keep no categories of their own: LightGBM
    then reads each frame's own categories, and so does the bag's one conversion."""
    rng = np.random.default_rng(4)
    n = 900
    colour = rng.choice(["red", "green", "blue"], size=n)
    x = pd.DataFrame({"a": rng.normal(size=n),
                      "colour": pd.Categorical(colour, categories=["red", "green", "blue"])})
    y = np.select([colour == "red", colour == "green"], [0, 1], 2).astype(float)
    split = np.array(["train"] * 700 + ["val"] * 200, dtype=object)
    folds = np.where(split == "train", np.arange(n) % BAG, -1)
    model = GBDTModel.fit(TaskType.MULTICLASS_CLASSIFICATION, x, y, split, "acc", seed=0,
                          num_classes=3, folds=folds)
    assert model.boosters[0].pandas_categorical is None
    assert isinstance(_matrix(x, None), np.ndarray)
    for k in range(BAG):
        booster = model.boosters[k]
        expected = booster.predict(x, num_iteration=booster.best_iteration or None)
        np.testing.assert_array_equal(model.predict(x, member=k), expected.astype(np.float32))
