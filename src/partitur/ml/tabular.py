"""Binary classifiers on a tabular frame: the public training interface. No I/O, no clock.

``train_classifier(frame, label="churned", time_column="as_of")`` trains a baseline, an
L2-regularised logistic regression (strength chosen by 4-fold cross-validation) on median-imputed,
standardised numbers with missing-value indicators and one-hot categories, and the model:
gradient-boosted trees (LightGBM, missing values and categories handled natively), stopped
early on held-back training rows. Both are judged on the same test rows:

* **split**: out of time when ``time_column`` is given (the latest ``test_share`` of the rows by
  time are the test set; a time value is never on both sides), otherwise a stratified random
  split (the report says which);
* **calibration**: the boosted model's raw scores are mapped to probabilities by isotonic
  regression fitted on a calibration slice of the training rows it did not learn from;
* **comparison**: ROC-AUC, PR-AUC, Brier score and log loss of both, a paired bootstrap
  interval of the AUC difference, and ``beats_baseline`` (model AUC above the baseline's).
  The boosted model is served only when it beats the baseline; otherwise the returned
  classifier serves the logistic baseline (``serving``), so a complex model that is not better
  than a simple one never scores customers.

Columns of type object/string/category/bool are categorical (or name them in
``categorical``); everything else must be numeric. Missing values are allowed anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

FloatArray = NDArray[np.float64]

#: LightGBM settings for small and medium tabular sets: shallow trees with large leaves, row and
#: column subsampling, L2 on the leaves, and early stopping on held-back training rows (deeper
#: trees with small leaves lost to the logistic baseline on the CDNOW churn set).
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "cat_smooth": 20.0,
    "min_data_per_group": 50,
    "verbose": -1,
    "num_threads": 1,
    "seed": 7,
    "deterministic": True,
    "force_col_wise": True,
}
MAX_ROUNDS = 2000
EARLY_STOPPING = 50
#: levels of a categorical column kept (the most frequent); the rest are "other"
MAX_LEVELS = 30


class TrainingError(ValueError):
    """The frame cannot train a model (too few rows, one class, unusable columns)."""


@dataclass
class Design:
    """How columns become numbers: medians and scale of numeric columns, kept levels of
    categorical ones. The boosted model sees numbers as they are (NaN allowed) and categories
    as integer codes; the baseline sees the imputed, standardised, one-hot matrix."""

    numeric: list[str]
    categorical: list[str]
    medians: dict[str, float] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    levels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @classmethod
    def fit(cls, frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> Design:
        design = cls(numeric=numeric, categorical=categorical)
        for name in numeric:
            values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
            median = float(values.median()) if values.notna().any() else 0.0
            filled = values.fillna(median)
            design.medians[name] = median
            design.means[name] = float(filled.mean())
            design.scales[name] = float(filled.std()) or 1.0
        for name in categorical:
            counts = frame[name].dropna().astype(str).value_counts()
            design.levels[name] = sorted(counts.index[:MAX_LEVELS].tolist())
        return design

    def boosted_matrix(self, frame: pd.DataFrame) -> FloatArray:
        """Numbers as they are and category codes (0..k-1, k = other, NaN = missing)."""
        parts = [
            pd.to_numeric(frame[n], errors="coerce").astype("float64").to_numpy()
            for n in self.numeric
        ]
        for name in self.categorical:
            parts.append(self._codes(frame[name], name))
        if not parts:
            return np.zeros((len(frame), 0))
        return np.column_stack(parts).astype(np.float64)

    def _codes(self, column: pd.Series, name: str) -> FloatArray:
        levels = self.levels[name]
        index = {level: i for i, level in enumerate(levels)}
        text = column.astype("string")
        codes = text.map(lambda v: index.get(v, len(levels)) if v is not pd.NA else np.nan)
        out: FloatArray = codes.astype("float64").to_numpy()
        return out

    def linear_matrix(self, frame: pd.DataFrame) -> FloatArray:
        """Imputed and standardised numbers, missing indicators, one-hot categories."""
        parts: list[FloatArray] = []
        for name in self.numeric:
            values = pd.to_numeric(frame[name], errors="coerce").astype("float64").to_numpy()
            missing = np.isnan(values)
            filled = np.where(missing, self.medians[name], values)
            parts.append((filled - self.means[name]) / self.scales[name])
            parts.append(missing.astype(np.float64))
        for name in self.categorical:
            codes = self._codes(frame[name], name)
            for k in range(len(self.levels[name]) + 1):
                parts.append((codes == k).astype(np.float64))
        if not parts:
            return np.zeros((len(frame), 0))
        return np.column_stack(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "medians": self.medians,
            "means": self.means,
            "scales": self.scales,
            "levels": self.levels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        return cls(**data)


@dataclass
class Classifier:
    """A trained boosted model with its calibration, the baseline and the design."""

    design: Design
    booster: lgb.Booster
    calibration_x: FloatArray
    calibration_y: FloatArray
    baseline_coef: FloatArray
    baseline_intercept: float
    #: which learner ``predict`` serves: "model" (the boosted trees) or "baseline" (when the
    #: trees did not beat the logistic regression on the test rows)
    serving: str = "model"

    def raw(self, frame: pd.DataFrame) -> FloatArray:
        """Uncalibrated probabilities of the boosted model."""
        out: FloatArray = np.asarray(
            self.booster.predict(self.design.boosted_matrix(frame)), dtype=np.float64
        )
        return out

    def _baseline_logit(self, frame: pd.DataFrame) -> FloatArray:
        out: FloatArray = (
            self.design.linear_matrix(frame) @ self.baseline_coef + self.baseline_intercept
        )
        return out

    def predict(self, frame: pd.DataFrame) -> FloatArray:
        """Probabilities of the positive class from the served learner (the boosted model
        calibrated, or the logistic baseline)."""
        if self.serving == "baseline":
            return self.predict_baseline(frame)
        return self.predict_model(frame)

    def predict_model(self, frame: pd.DataFrame) -> FloatArray:
        """Calibrated probabilities of the boosted model."""
        out: FloatArray = np.interp(self.raw(frame), self.calibration_x, self.calibration_y)
        return out

    def predict_baseline(self, frame: pd.DataFrame) -> FloatArray:
        """Probabilities of the logistic baseline alone."""
        return _sigmoid(self._baseline_logit(frame))

    def to_files(self) -> dict[str, bytes]:
        return {
            "model.txt": self.booster.model_to_string().encode(),
            "calibration.json": json.dumps(
                {"x": self.calibration_x.tolist(), "y": self.calibration_y.tolist()}
            ).encode(),
            "design.json": json.dumps(self.design.as_dict()).encode(),
            "baseline.json": json.dumps(
                {
                    "coef": self.baseline_coef.tolist(),
                    "intercept": self.baseline_intercept,
                    "serving": self.serving,
                }
            ).encode(),
        }

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> Classifier:
        calibration = json.loads(files["calibration.json"])
        baseline = json.loads(files["baseline.json"])
        return cls(
            design=Design.from_dict(json.loads(files["design.json"])),
            booster=lgb.Booster(model_str=files["model.txt"].decode()),
            calibration_x=np.asarray(calibration["x"], dtype=np.float64),
            calibration_y=np.asarray(calibration["y"], dtype=np.float64),
            baseline_coef=np.asarray(baseline["coef"], dtype=np.float64),
            baseline_intercept=float(baseline["intercept"]),
            serving=str(baseline.get("serving", "model")),
        )


def _logistic_baseline(
    matrix: FloatArray, y: FloatArray, seed: int, folds: int = 4
) -> tuple[LogisticRegression, float]:
    """L2 logistic regression; the strength C with the best 4-fold log loss, refitted on all
    rows."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for value in (0.0, 1.0):  # stratified folds
        rows = np.flatnonzero(y == value)
        fold[rng.permutation(rows)] = np.arange(len(rows)) % folds
    best_c, best_loss = 1.0, np.inf
    for c in np.logspace(-3, 2, 6):
        losses = []
        for k in range(folds):
            held = fold == k
            if y[~held].min() == y[~held].max():
                continue
            fitted = LogisticRegression(C=float(c), max_iter=2000).fit(matrix[~held], y[~held])
            p = np.clip(fitted.predict_proba(matrix[held])[:, 1], 1e-6, 1 - 1e-6)
            losses.append(log_loss(y[held], p, labels=[0, 1]))
        if losses and float(np.mean(losses)) < best_loss:
            best_c, best_loss = float(c), float(np.mean(losses))
    return LogisticRegression(C=best_c, max_iter=2000).fit(matrix, y), round(best_c, 5)


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return out


def _is_categorical(series: pd.Series) -> bool:
    return bool(
        pd.api.types.is_object_dtype(series)
        or pd.api.types.is_string_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(series)
    )


def _split(
    frame: pd.DataFrame,
    y: FloatArray,
    time_column: str | None,
    test_share: float,
    seed: int,
    test_from: pd.Timestamp | None = None,
) -> tuple[NDArray[np.bool_], str]:
    """Boolean mask of the test rows and the kind of split."""
    if time_column is not None:
        moments = pd.to_datetime(frame[time_column], utc=True)
        if test_from is not None:
            cut = pd.Timestamp(test_from)
            cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut
            return (moments >= cut).to_numpy(), "out_of_time"
        cut = moments.quantile(1 - test_share)
        test = (moments >= cut).to_numpy()
        if test.all():  # one moment only: everything would be test
            test = (moments > moments.min()).to_numpy()
        return test, "out_of_time"
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for value in (0.0, 1.0):
        rows = np.flatnonzero(y == value)
        rng.shuffle(rows)
        test[rows[: round(len(rows) * test_share)]] = True
    return test, "random"


def _metrics(y: FloatArray, p: FloatArray) -> dict[str, Any]:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "pr_auc": round(float(average_precision_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "log_loss": round(float(log_loss(y, clipped, labels=[0, 1])), 4),
        "calibration": calibration_table(y, p),
        "lift": lift_by_decile(y, p),
    }


def calibration_table(y: FloatArray, p: FloatArray, bins: int = 10) -> list[dict[str, float]]:
    """Mean predicted probability against the observed rate in ``bins`` score deciles."""
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, bins):
        if chunk.size:
            out.append(
                {
                    "customers": int(chunk.size),
                    "predicted": round(float(p[chunk].mean()), 4),
                    "observed": round(float(y[chunk].mean()), 4),
                }
            )
    return out


def lift_by_decile(y: FloatArray, p: FloatArray) -> list[dict[str, float]]:
    """Positive rate and lift per score decile, highest scores first."""
    order = np.argsort(-p, kind="stable")
    base = float(y.mean()) or 1e-12
    out = []
    for i, chunk in enumerate(np.array_split(order, 10)):
        if chunk.size == 0:
            continue
        rate = float(y[chunk].mean())
        out.append(
            {
                "decile": i + 1,
                "customers": int(chunk.size),
                "rate": round(rate, 4),
                "lift": round(rate / base, 3),
                "mean_score": round(float(p[chunk].mean()), 4),
            }
        )
    return out


def _auc_difference_interval(
    y: FloatArray, p_model: FloatArray, p_base: FloatArray, seed: int, rounds: int = 200
) -> list[float]:
    """95 % paired bootstrap interval of AUC(model) - AUC(baseline) on the test rows."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(rounds):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].min() == y[rows].max():
            continue
        diffs.append(roc_auc_score(y[rows], p_model[rows]) - roc_auc_score(y[rows], p_base[rows]))
    if not diffs:
        return [0.0, 0.0]
    low, high = np.quantile(diffs, [0.025, 0.975])
    return [round(float(low), 4), round(float(high), 4)]


def train_classifier(
    frame: pd.DataFrame,
    *,
    label: str,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    time_column: str | None = None,
    test_share: float = 0.25,
    test_from: pd.Timestamp | None = None,
    seed: int = 7,
) -> tuple[Classifier, dict[str, Any]]:
    """Train the boosted model and the logistic baseline on ``frame`` and compare them on the
    same test rows (see the module docstring). ``label`` is a column of 0/1 (or booleans);
    ``features`` default to every other column except ``time_column``; ``test_from`` puts the
    rows at or after that time in the test set (default: the latest ``test_share``). Raises
    ``TrainingError`` when a side of the split has fewer than 20 rows or one class."""
    if label not in frame.columns:
        raise TrainingError(f"no label column {label!r}")
    y_all = pd.to_numeric(frame[label].astype("float64"), errors="coerce")
    if y_all.isna().any() or not set(y_all.unique()) <= {0.0, 1.0}:
        raise TrainingError(f"the label {label!r} must be 0/1 without missing values")
    y = y_all.to_numpy(dtype=np.float64)
    names = features or [c for c in frame.columns if c not in (label, time_column)]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise TrainingError(f"no columns {missing}")
    cats = [n for n in names if n in set(categorical or []) or _is_categorical(frame[n])]
    nums = [n for n in names if n not in cats]
    for n in nums:
        if not pd.api.types.is_numeric_dtype(frame[n]):
            raise TrainingError(f"column {n!r} is neither numeric nor categorical")
    test, split = _split(frame, y, time_column, test_share, seed, test_from)
    for side, rows in (("training", ~test), ("test", test)):
        if rows.sum() < 20 or y[rows].min() == y[rows].max():
            raise TrainingError(f"the {side} rows need at least 20 rows of both classes")
    train_frame = frame.loc[~test].reset_index(drop=True)
    test_frame = frame.loc[test].reset_index(drop=True)
    y_train, y_test = y[~test], y[test]
    design = Design.fit(train_frame, nums, cats)

    # the baseline: L2 logistic regression, strength by 4-fold cross-validated log loss
    linear_train = design.linear_matrix(train_frame)
    linear, strength = _logistic_baseline(linear_train, y_train, seed)

    # the boosted model: a random quarter of the training rows (per class) stops the boosting
    # early and then calibrates it
    matrix = design.boosted_matrix(train_frame)
    hold = np.zeros(len(y_train), dtype=bool)
    rng = np.random.default_rng(seed + 1)
    for value in (0.0, 1.0):
        members = np.flatnonzero(y_train == value)
        hold[rng.choice(members, size=max(1, len(members) // 4), replace=False)] = True
    categorical_index = list(range(len(nums), len(nums) + len(cats)))
    fit_set = lgb.Dataset(
        matrix[~hold],
        y_train[~hold],
        feature_name=design.columns or "auto",
        categorical_feature=categorical_index or "auto",
        free_raw_data=False,
    )
    stop_set = lgb.Dataset(matrix[hold], y_train[hold], reference=fit_set)
    booster = lgb.train(
        PARAMS,
        fit_set,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[stop_set],
        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )
    raw_hold = np.asarray(booster.predict(matrix[hold]), dtype=np.float64)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw_hold, y_train[hold])
    grid = np.unique(np.concatenate([[0.0], iso.X_thresholds_, [1.0]]))
    model = Classifier(
        design=design,
        booster=booster,
        calibration_x=grid,
        calibration_y=np.asarray(iso.predict(grid), dtype=np.float64),
        baseline_coef=np.asarray(linear.coef_[0], dtype=np.float64),
        baseline_intercept=float(linear.intercept_[0]),
    )
    p_model = model.predict_model(test_frame)
    p_raw = model.raw(test_frame)
    p_base = model.predict_baseline(test_frame)
    model_metrics = _metrics(y_test, p_model)
    # the calibrated scores are a step function: rank by the raw scores for the AUC
    model_metrics["roc_auc"] = round(float(roc_auc_score(y_test, p_raw)), 4)
    model_metrics["pr_auc"] = round(float(average_precision_score(y_test, p_raw)), 4)
    model_metrics["brier_uncalibrated"] = round(float(brier_score_loss(y_test, p_raw)), 4)
    baseline_metrics = _metrics(y_test, p_base)
    if not model_metrics["roc_auc"] > baseline_metrics["roc_auc"]:
        model.serving = "baseline"
    gains = booster.feature_importance(importance_type="gain")
    total_gain = float(gains.sum()) or 1.0
    report: dict[str, Any] = {
        "split": split,
        "train_rows": int((~test).sum()),
        "test_rows": int(test.sum()),
        "positive_rate_test": round(float(y_test.mean()), 4),
        "rounds": int(booster.best_iteration or booster.current_iteration()),
        "model": model_metrics,
        "baseline": {**baseline_metrics, "c": strength},
        "auc_difference": round(model_metrics["roc_auc"] - baseline_metrics["roc_auc"], 4),
        "auc_difference_interval": _auc_difference_interval(y_test, p_raw, p_base, seed),
        "beats_baseline": bool(model_metrics["roc_auc"] > baseline_metrics["roc_auc"]),
        "serving": model.serving,
        "feature_importance": dict(
            sorted(
                (
                    (n, round(float(g) / total_gain, 4))
                    for n, g in zip(design.columns, gains, strict=True)
                ),
                key=lambda kv: -kv[1],
            )
        ),
    }
    return model, report
