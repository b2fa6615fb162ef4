"""nnctl on a messy CSV against a scikit-learn pipeline, on the same split of the same rows.

    python benchmarks/tables_vs_sklearn.py                       # configs/churn_csv.yaml, seeds 0-4
    python benchmarks/tables_vs_sklearn.py --seeds 0 --json

For each seed, nnctl trains the config (its splits are scikit-learn's train_test_split, seeded by
the config's seed); the same training rows then fit two scikit-learn pipelines, and every model is
scored on the same test rows:

    ColumnTransformer(numeric:      SimpleImputer(median, add_indicator=True) -> StandardScaler,
                      text columns: SimpleImputer(constant 'missing') -> OneHotEncoder(handle_unknown='ignore'))
    -> LogisticRegression(max_iter=2000), or
    -> MLPClassifier(the config's hidden layers, adam at the config's lr, early_stopping=True)

scikit-learn reads the cells nnctl read (the numbers with their decimal commas, the missing
markers as missing), with the column types of the config, so only the models differ. The MLP
stops early on a tenth of its training rows, as nnctl does on its validation split.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nnctl import api, data
from nnctl.data import sources


def split_rows(cfg, seed: int):
    """The prepared table nnctl reads, its targets, and the train/val/test row indices of `seed`."""
    prepared, y, _classes, _, _ = sources.csv(cfg.data, seed)
    train, val, test = data._split(y, cfg.data, seed, regression=False)
    return prepared, y, train, val, test


def frame(prepared):
    """The table as scikit-learn takes it: numbers as floats (NaN where missing), text as objects."""
    import pandas as pd

    columns = {}
    for column, values in zip(prepared.columns, prepared.parsed):
        if column.type == "numeric":
            columns[column.name] = values
        elif column.type != "ignore":
            columns[column.name] = pd.Series([np.nan if v is None else v for v in values], dtype=object)
    return pd.DataFrame(columns), [c.name for c in prepared.columns if c.type == "numeric"], \
        [c.name for c in prepared.columns if c.type in ("categorical", "binary")]


def pipelines(numeric, text, cfg, seed: int) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def columns():
        return ColumnTransformer([
            ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            ("text", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                   OneHotEncoder(handle_unknown="ignore")), text)])

    hidden = tuple(layer.units for layer in cfg.model.layers[:-1] if getattr(layer, "units", None))
    return {"logistic regression": make_pipeline(columns(), LogisticRegression(max_iter=2000)),
            f"MLP {hidden}": make_pipeline(columns(), MLPClassifier(hidden, learning_rate_init=cfg.optimizer.lr,
                                                                    batch_size=cfg.training.batch_size, max_iter=500,
                                                                    early_stopping=True, random_state=seed))}


def one_seed(cfg, seed: int) -> dict:
    cfg = cfg.model_copy(update={"seed": seed})
    with tempfile.TemporaryDirectory() as tmp:
        result = api.train(cfg, run_dir=Path(tmp) / "run", plots=False)
    scores = {"nnctl": result["test"]["accuracy"]}
    prepared, y, train, val, test = split_rows(cfg, seed)
    x, numeric, text = frame(prepared)
    fit_rows = np.concatenate([train, val])  # nnctl's val rows are the MLP's early-stopping rows' share
    for name, pipe in pipelines(numeric, text, cfg, seed).items():
        pipe.fit(x.iloc[fit_rows], y[fit_rows])
        scores[name] = float((pipe.predict(x.iloc[test]) == y[test]).mean())
    return {"seed": seed, "n_test": len(test), "accuracy": scores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "churn_csv.yaml"))
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds (each its own split)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cfg = api.load_config(args.config)
    runs = [one_seed(cfg, int(s)) for s in args.seeds.split(",")]
    names = list(runs[0]["accuracy"])
    mean = {n: float(np.mean([r["accuracy"][n] for r in runs])) for n in names}
    if args.json:
        print(json.dumps({"config": args.config, "runs": runs, "mean": mean}, indent=2))
        return 0
    print(f"{args.config}: test accuracy, {runs[0]['n_test']} test rows per seed")
    print("seed  " + "  ".join(f"{n:>24}" for n in names))
    for r in runs:
        print(f"{r['seed']:>4}  " + "  ".join(f"{r['accuracy'][n]:>24.3f}" for n in names))
    print("mean  " + "  ".join(f"{mean[n]:>24.3f}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
