"""The workspace's forms, one module per topic. They validate by calling the services'
own checks, so a form and the service it feeds cannot disagree."""
