"""Evaluation: metrics, paired statistics, scoring of a model on eval items, the real-DP validation set."""
