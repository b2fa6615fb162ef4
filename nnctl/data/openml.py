"""Downloads from OpenML through scikit-learn's fetch_openml, with one policy for every data set
that comes from there (MNIST's and Fashion-MNIST's mnist_784 and Fashion-MNIST, and any
`data.name: openml`): the liac-arff parser (pandas' would make pandas a dependency), NumPy arrays,
RETRIES retries DELAY seconds apart, the files cached under nnctl's cache folder."""

import warnings
from pathlib import Path
from typing import Any

from ..errors import DataError

RETRIES = 3
DELAY = 1.0  # seconds between retries


def fetch(label: str, data_home: Path, **which: str | int) -> Any:
    """scikit-learn's Bunch for the data set `which` names (name and version, or data_id; and
    target_column), downloaded once into data_home. DataError naming `label` when it cannot be
    had: offline, an HTTP error, an unknown name or column, a corrupt download, no scikit-learn."""
    try:
        from sklearn.datasets import fetch_openml

        with warnings.catch_warnings():
            # each retry warns, and so does a choice among several active versions: the error below,
            # or the data set chosen, says enough
            warnings.simplefilter("ignore")
            return fetch_openml(**which, as_frame=False, parser="liac-arff", data_home=str(data_home),
                                n_retries=RETRIES, delay=DELAY)
    # every failure means "not available"; the reason is kept
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{label} is not available from OpenML ({type(e).__name__}: {e})") from None
