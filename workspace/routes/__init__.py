"""The workspace's URLs by topic, one module each, so that each topic's routes sit together."""
