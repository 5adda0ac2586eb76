"""Storefront connectors (DESIGN §16): a retailer's link to its Shopify or WooCommerce store.

One module per platform (`shopify`, `woocommerce`) behind the small interface of `platform`;
`services` keeps the connectors, `intake` turns the platforms' order webhooks into hub orders
through the same placement service as `POST /api/v1/orders`.
"""
