"""register package."""
