"""Input as people type it: pastes, albums and forwards answered as one turn; edited
questions asked again."""
