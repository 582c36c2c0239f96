"""Who is asking and what they may do: API tokens, web sign-in (tokens and OpenID Connect) and the
roles a request carries."""
