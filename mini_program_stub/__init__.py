"""Stand-ins for outside services (the WeChat server API) used by tests and the demo."""
