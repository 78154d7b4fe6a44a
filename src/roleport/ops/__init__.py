"""What runs beside requests: the background log writer, the audit trail and its search,
the expiry notification scheduler and its sinks, leases, metrics across workers."""
