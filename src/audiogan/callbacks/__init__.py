"""Lightning callbacks shared by all families."""
