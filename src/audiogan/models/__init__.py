"""Network definitions (plain nn.Modules; training logic lives in audiogan.tasks)."""
