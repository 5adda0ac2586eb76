"""History that does not grow for ever (issue 20): the month partitions of the ledger, events,
webhook deliveries and feed runs on PostgreSQL, created ahead and dropped whole after retention."""
