"""The domain: vocabulary, field lengths, movement between rounds, deadlines. No IO."""
