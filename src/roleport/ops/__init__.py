"""What runs beside requests: the background log writer, the audit trail, its search."""
