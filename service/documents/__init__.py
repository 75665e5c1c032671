"""Document kinds: the facts each needs, its context builder (pure), and the catalogue."""
