"""Groups that catch you up: the recent history of a group and ``/catchup``."""
