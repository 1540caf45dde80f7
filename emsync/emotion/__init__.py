"""A video's emotion as the generator's condition (thesis §5.2.2, §6.1): Ekman probabilities ->
valence/arousal by the §6.1 Gaussian mixture (mapping), an estimate from packaged pretrained faces
and on-screen text when no real VEMOCLAP is at hand (estimate), and the choice of the best real
source for a video (source)."""
