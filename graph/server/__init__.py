"""What runs only under a LangGraph server: authentication and per-user access."""
