"""Where models live: one module per URI scheme behind the `base.Source` protocol."""
