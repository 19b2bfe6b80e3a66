"""PyAI Server: a self-hostable implementation of the PyAI Voice AI API."""
