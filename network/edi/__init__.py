"""EDI trading (X12 over SFTP): the reader/writer, trading partners, one module per document.

`network.edi.x12` is the hub's one X12 tokenizer and writer; it imports nothing of the hub
but `network.errors`, so the 846 feed parser (`network.feeds.x12`) reads with it too.
"""
