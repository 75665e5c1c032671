"""Generation: batches, the queue they go through, rendering use cases and stored files."""
