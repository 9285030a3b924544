"""Signature verification, one module per trust technology; the only users of model_signing."""
