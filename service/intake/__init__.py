"""Intake: the formats organisers send in, their validation, and the use cases that store them."""
