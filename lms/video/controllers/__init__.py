"""Video views, split by who uses them: the instructor's library, playback, watch reports."""
