"""What models exist: shortcuts, litellm's model map, gateways, and what a call costs."""
