"""The datasets' pinned checksums, as package data (``membrane.sha256``), read by ``helpers.datasets``."""
