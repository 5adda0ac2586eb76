"""The HTTP layer both APIs share: bearer-token auth, problem details, cursor pagination, shared schemas.

It stands between `network` (which never imports it) and the two web packages (`retailer_api`,
`vendor_portal`), which import it and never each other.
"""
