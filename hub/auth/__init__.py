"""OAuth 2 client-credentials authorisation server and the bearer-token guard of the API."""
