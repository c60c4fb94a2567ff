"""Running the bot: polling or webhook inside one lifecycle, liveness and the heap."""
