"""One module per API namespace."""
