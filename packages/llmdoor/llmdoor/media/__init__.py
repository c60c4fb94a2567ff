"""Media calls: transcription, speech, images and documents, on the shared call path."""
