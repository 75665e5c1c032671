"""Pure domain logic: no IO, no frameworks; values in, values out."""
