"""Policy: access levels, rendering grants into statements, normalising and checking documents."""
