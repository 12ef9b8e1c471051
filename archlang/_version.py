"""The package version, in one place (read by ``archlang.__version__``, the CLI and ONNX's producer)."""

__version__ = "0.1.0"
