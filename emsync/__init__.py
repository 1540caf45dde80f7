"""emsync: video-based music generation (S. Sulun, Video-based Music Generation, 2025)."""

__version__ = "0.1.0"
