"""The Open311 GeoReport v2 server: discovery, services, requests (GET and POST), tokens."""
