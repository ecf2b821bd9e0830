"""The demo workspace: an online retailer with a service team, generated and loaded."""
