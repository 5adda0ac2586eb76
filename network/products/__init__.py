"""The vendor's catalog as the vendor manages it: products saved one by one or imported from a
file, discontinued, with retailers told what changed. Builds on network.catalog (the tables and
their validation), which stays free of events and availability."""
