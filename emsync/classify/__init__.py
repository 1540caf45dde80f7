"""Video emotion (VEMOCLAP, thesis §5.2.2) and trailer genre (§5.2.3) classification: dataset
adapters, the dataset-cleaning blacklist, feature loading, training tasks, metrics, inference."""
