"""What runs beside requests: the expiry notification scheduler and its sinks, leases,
metrics aggregation across workers."""
