"""An nnctl model as MLflow's python_function flavour: the NumPy export (model.npz and predict.py,
in the model's artifacts as `numpy_model/`) behind MLflow's PythonModel interface.

MLflow copies this file into the logged model and runs it when the model is loaded ("models from
code"), so it needs MLflow, pandas and NumPy, never nnctl: a served or downloaded model runs on
its own. The model's config (`model_config`) holds the feature names the signature names.

    model = mlflow.pyfunc.load_model("runs:/<run id>/model")
    model.predict(frame)   # classification: label, then one probability_<class> column per class;
                           # regression: prediction (prediction_<i> for several outputs)
"""

import importlib.util
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel


class NnctlNumpyModel(PythonModel):
    """predict.py's predict and predict_proba over the input's columns, matched by feature name."""

    # MLflow would warn, once per process, that predict has no type hints: the signature
    # describes the data (MLflow skips the check so for its own ChatModel)
    _skip_type_hint_validation = True

    def load_context(self, context):
        source = Path(context.artifacts["numpy_model"]) / "predict.py"
        spec = importlib.util.spec_from_file_location(f"nnctl_exported_{uuid.uuid4().hex}", source)
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.features = list(context.model_config["features"])
        self.task = context.model_config["task"]
        self.table = bool(context.model_config.get("table"))  # a model of a CSV: its cells, text and all

    def _rows(self, model_input):
        if self.table:  # predict.py reads each column by its type, by name
            if isinstance(model_input, pd.DataFrame):
                return {name: model_input[name].tolist() for name in self.features}
            return np.asarray(model_input, dtype=object).reshape(-1, len(self.features))
        if isinstance(model_input, pd.DataFrame):
            missing = [name for name in self.features if name not in model_input.columns]
            if not missing:
                return model_input[self.features].to_numpy(dtype=np.float64)
            if len(model_input.columns) != len(self.features):
                raise ValueError(f"the input lacks the feature columns {missing}; expected {self.features}")
            model_input = model_input.to_numpy(dtype=np.float64)
        return np.asarray(model_input, dtype=np.float64).reshape(-1, len(self.features))

    def predict(self, context, model_input, params=None):
        x = self._rows(model_input)
        n = len(model_input)
        if self.task == "regression":
            values = np.asarray(self.module.predict(x), dtype=np.float64).reshape(n, -1)
            names = ["prediction"] if values.shape[1] == 1 else [f"prediction_{i}" for i in range(values.shape[1])]
            return pd.DataFrame(values, columns=names)
        out = pd.DataFrame({"label": self.module.predict(x)})
        probabilities = np.asarray(self.module.predict_proba(x), dtype=np.float64)
        for i, name in enumerate(self.module.classes()):
            out[f"probability_{name}"] = probabilities[:, i]
        return out


set_model(NnctlNumpyModel())
