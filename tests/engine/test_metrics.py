"""Metrics against scikit-learn's, an independent implementation."""

import numpy as np
import pytest
from sklearn import metrics as sk

from nnctl.engine import metrics


@pytest.mark.parametrize("seed", range(4))
def test_roc_auc_matches_scikit_learn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=200)
    score = np.round(rng.random(200) + 0.3 * y, 1)  # rounding makes many ties
    assert metrics.roc_auc(y, score) == pytest.approx(sk.roc_auc_score(y, score), rel=1e-12)


def test_roc_auc_extremes_and_one_class():
    assert metrics.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert metrics.roc_auc(np.array([0, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert metrics.roc_auc(np.array([1, 1]), np.array([0.2, 0.3])) is None


def test_macro_f1_matches_scikit_learn():
    rng = np.random.default_rng(5)
    y, pred = rng.integers(0, 4, size=300), rng.integers(0, 4, size=300)
    pred[:100] = y[:100]
    cm = metrics.confusion_matrix(y, pred, 4)
    assert metrics.macro_f1(cm) == pytest.approx(sk.f1_score(y, pred, average="macro"), rel=1e-12)


def test_regression_scores_match_scikit_learn():
    rng = np.random.default_rng(6)
    y = rng.normal(size=100) * 10 + 3
    pred = y + rng.normal(size=100) * 4
    scores = metrics.regression_scores(y, pred.reshape(-1, 1))
    assert scores["mae"] == pytest.approx(sk.mean_absolute_error(y, pred), rel=1e-12)
    assert scores["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, pred)), rel=1e-12)
    assert scores["r2"] == pytest.approx(sk.r2_score(y, pred), rel=1e-12)
    assert metrics.regression_scores(np.ones(3), np.zeros(3))["r2"] is None
