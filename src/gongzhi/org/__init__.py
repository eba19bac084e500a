"""Departments, staff, roles scoped to regions, the responsibility list, the work calendar."""
