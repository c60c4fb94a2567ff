"""One answer: the request, the model call's event stream, the answer controls, titles and
the running answers."""
