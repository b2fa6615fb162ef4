"""nnctl: train small neural networks written from scratch in NumPy, driven by YAML files."""

__version__ = "0.1.0"
