"""Objective metrics for validation and evaluation."""
