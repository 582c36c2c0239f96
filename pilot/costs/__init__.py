"""The cost model: editable inputs, the fleet register's real figures where it has them, and the arithmetic."""
