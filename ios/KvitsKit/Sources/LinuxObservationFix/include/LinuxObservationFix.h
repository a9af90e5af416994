// Intentionally empty: see ../fix.c.
