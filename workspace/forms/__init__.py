"""The workspace's forms, one module per topic. They parse input; services decide the rules."""
