"""Where each kind of object names its models: one module per project, one registry."""
