"""Package data: the blue-noise tile and ICC-free presets."""
