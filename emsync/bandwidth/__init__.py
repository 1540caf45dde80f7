"""Audio bandwidth extension (thesis Chapter 7): the low-pass filter set (Table 7.1), full-band
44.1 kHz stereo data with fast filtered crops (§7.3, §7.5), training tasks for the one engine and
evaluation (§7.4)."""
