"""Files in chat: originals kept (storage.py), their kind told by content (sniffing.py), their
text extracted in worker processes (extractors.py, run by extraction.py), audio transcribed by
the provider (transcription.py), uploads read as they stream in (uploads.py), and the
Attachment rows that tie them to messages (attachments.py)."""
