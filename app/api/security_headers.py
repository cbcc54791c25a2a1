"""Security headers on every answer, whatever produced it: a view, an error handler, a 304."""

from __future__ import annotations

from flask import Flask, Response, request

# JSON answers load nothing, so they allow nothing; framing is refused for every answer.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The one HTML page (the API docs) runs Swagger UI from this server's own files; its icons are
# data: images inside the stylesheet.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
               "form-action 'none'")
HSTS = "max-age=31536000; includeSubDomains"
# Answers here carry tokens or personal data even when the request has no bearer token.
PERSONAL_PATHS = ("/api/v1/me", "/api/v1/auth/", "/api/v1/verifications",
                  "/api/v1/admin/", "/api/v1/integrations/")
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def carries_personal_data(path: str, authorized: bool) -> bool:
    """Whether an answer may hold personal data: any caller's own, or a personal path's."""
    return authorized or path.startswith(PERSONAL_PATHS)


def secure(response: Response) -> Response:
    """Add the headers to an answer of the current request, keeping any a view chose."""
    headers = response.headers
    # One pass over the few headers an answer has: werkzeug's setdefault rescans them, with a
    # lower-casing per header, for every name, which cost more than the rest of /healthz.
    present = {name.lower() for name, _ in headers.items()}
    missing = [(name, value) for name, value in ALWAYS.items() if name.lower() not in present]
    if "content-security-policy" not in present:
        missing.append(("Content-Security-Policy",
                        PAGE_POLICY if response.mimetype == "text/html" else API_POLICY))
    if "cache-control" not in present and carries_personal_data(
            request.path, "Authorization" in request.headers):
        missing.append(("Cache-Control", "no-store"))
    # Only over HTTPS (as ProxyFix reports it behind TRUSTED_PROXIES): browsers ignore it on
    # plain HTTP, and a development server must stay reachable that way.
    if request.is_secure and "strict-transport-security" not in present:
        missing.append(("Strict-Transport-Security", HSTS))
    for name, value in missing:
        headers.add(name, value)
    return response


def register_security_headers(app: Flask) -> None:
    """Run `secure` on every answer the app gives."""
    app.after_request(secure)
