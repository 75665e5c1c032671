"""What changed since a document was made: fingerprints of its inputs, cheap stamps, staleness."""
