"""genforge: convolutional VAEs that generate game levels (and music) from real corpora."""

__version__ = "0.1.0"
