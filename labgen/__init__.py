"""labgen: turn a documented infrastructure walkthrough into a reproducible lab."""

__version__ = "0.1.0"
