"""The web app: server-rendered pages with a little JavaScript that calls the REST API."""
