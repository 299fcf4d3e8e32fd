"""I/O at the edges: atomic outputs and the FFmpeg runner."""
