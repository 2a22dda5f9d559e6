"""The shared service layer: GUI-free use cases every tab and the CLI call."""
