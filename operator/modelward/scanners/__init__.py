"""Static scanners for model files: one module per format, none of them loads or runs a model."""
