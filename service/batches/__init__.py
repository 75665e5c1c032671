"""Making documents: record a batch of wanted documents, hand them to the queue, render one."""
