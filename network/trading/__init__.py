"""EDI trading with vendors (DESIGN §17): trading partners, the 850/860/997 the hub sends, the
855/856/810/997 it applies through the order services, invoices, and the SFTP mailbox.

X12 itself (reading, writing, one module per document) is `network.edi`, the bottom layer; this
area holds the rules and sits above orders, flags and feeds.
"""
