"""Regenerate what changed: fingerprints of every document's inputs, runs, the nightly schedule."""
