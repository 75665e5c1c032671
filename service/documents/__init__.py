"""Document kinds: the facts each needs, its context builder, and the catalogue of templates."""
