"""Groups that catch you up: recording what is said, and /catchup."""
