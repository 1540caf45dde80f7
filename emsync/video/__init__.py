"""Video analysis (thesis ch. 5): probing, scene cuts (§5.1), frame/audio sampling (§5.2.2.1,
§5.2.3.1) and the pretrained-feature extractors (§5.2.1, `emsync.video.extractors`)."""
