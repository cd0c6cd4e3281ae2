"""One module per paper: its config dataclass, how to build it, how to check it."""
