"""The HTTP edge: the FastAPI application, its REST routes, the SCIM service and the web pages."""
