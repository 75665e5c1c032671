"""Regeneration runs: plan what changed in active meetings, batch it; the nightly schedule."""
