"""The portal sends a Content-Security-Policy, and its pages need nothing the policy forbids."""

from __future__ import annotations

import re

from vendor_portal.web.common import CONTENT_SECURITY_POLICY

PAGES = [
    "/portal/dashboard",
    "/portal/stock",
    "/portal/feeds",
    "/portal/purchase-orders",
    "/portal/returns",
    "/portal/api-access",
    "/portal/team",
]
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_portal_page_sends_a_policy_without_inline_script(client, signed_in):
    for path in ["/portal/password/forgot", *PAGES]:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = _policy(response)
        assert policy["script-src"] == "script-src 'self'", path
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        assert policy["object-src"] == "object-src 'none'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        page = response.get_data(as_text=True)
        assert not _INLINE_SCRIPT.search(page), path
        assert not _HANDLER.search(page), (path, _HANDLER.search(page))
        assert not _STYLE.search(page), path


def test_the_sign_in_page_sends_it_to_visitors_too(client):
    response = client.get("/portal/login")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
