"""HTTP routers, one per product surface; they parse, authorize and call the product services."""
