"""The request path: one step per module, composed by `admit`."""
