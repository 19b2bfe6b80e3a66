"""HTTP routers, one per product surface; they parse and call the product services, after the
app-wide guard admitted the caller (``pyai.gateway.access``)."""
