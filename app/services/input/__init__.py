"""Input as people type it: the pieces a person meant as one question made one turn."""
