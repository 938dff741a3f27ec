"""Prefix indexes for full-text search: FTS5 keeps extra index entries for the first 1, 2 and 3
characters of every word (prefix='1 2 3'), so that search as you type ("de", "dec") reads one
doclist instead of merging the doclists of every word with that start. Over 100,000 messages
this takes a short prefix query from ~150 ms to a few ms (bench/search_bench.py), for about
half again the index's size.

An FTS5 table's options cannot be altered: the tables are recreated and rebuilt from their
content tables. The triggers of migration 2 name the tables, not their definitions, so they
carry on unchanged. PostgreSQL needs nothing: its GIN indexes already answer `word:*`.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "message_fts";
        CREATE VIRTUAL TABLE "message_fts" USING fts5(
            content, content='message', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='1 2 3');
        INSERT INTO message_fts (message_fts) VALUES ('rebuild');
        DROP TABLE IF EXISTS "conversation_fts";
        CREATE VIRTUAL TABLE "conversation_fts" USING fts5(
            title, content='conversation', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='1 2 3');
        INSERT INTO conversation_fts (conversation_fts) VALUES ('rebuild');"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "message_fts";
        CREATE VIRTUAL TABLE "message_fts" USING fts5(
            content, content='message', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2');
        INSERT INTO message_fts (message_fts) VALUES ('rebuild');
        DROP TABLE IF EXISTS "conversation_fts";
        CREATE VIRTUAL TABLE "conversation_fts" USING fts5(
            title, content='conversation', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2');
        INSERT INTO conversation_fts (conversation_fts) VALUES ('rebuild');"""


MODELS_STATE = (
    "eJztWltv4kYU/iuWn7JSugo0ya6iqhIQZ5dugAi87XabajTYA1ixx17POARl8997ZvD9Qg"
    "0NFFa8ROZc5vKdc2aOP+dZdVyT2Oxtx6WPxGeYWy5Vr5RnlWKHwEOp/lRRseclWiHgeGxL"
    "ByNvOWbcxwYH3QTbjIDIJMzwLS+ciwa2LYSuAYYWnSaigFrfAoK4OyV8RnxQ/PU3iC1qki"
    "fCxM9ndWIR25TPqjunYAQGNmYcwZTWo8UXCHNVeJEnzyeMwZwsGijao2U+ofSyY1+5sYUn"
    "jVQ5BmxF/ngR/t4DktNnALNMYSnlKPLtUn4jDcU+xzCXHTg0MfYWfAazRtYW5UI6JbAdzI"
    "kYnvuBAE7gEuIcYbnEKDFZgpPyMckEBzZPAT1GiUxFqD/Q0UjTEVLXCA3AJcIKS2Vy91Ox"
    "hJ+ajfN35+9/vjx/L6IgRLHk3cty6gSYpaOEp6+rL1KPOUZJRBNQ2Qz7BJVB2wFNObZpnx"
    "zCsPQ8whGe/w1i9ZdJQA2BnjKDuXxjhvnbsIQomaNoTb+q2wqEg5+QTeiUzwT6zRWo/94a"
    "dj62hifN5hsxoQtFuqzgfqhpSpUITBKIuMbqRiF2eJ0QRIL/Kc0z6F6e10D38rwSXaHKos"
    "stDkZroBs7bAvd5MiOoeyTuSLyekcpfHZWJ4fPzqqTWOiyOMsyNNFyD1msrwEubjlkxZkS"
    "OeYwN0PPt9FDjQiEybtWALaY3yuQ1rs9baS3endieIexb7ZEq6VrQtOU0kVOenKZC0o8iP"
    "JHV/+oiJ/K10Ffk2i6jE99OWNip39VxZpwwF1E3TnCZhqTSByJMjHGcPhaj6Tkymi7rk0w"
    "LY9w2i0X4DH4bauqYsluo9oeDG4zAW139Vwdfe61teFJQ0YSjCxO0ld2gjfccYRvVFRZz2"
    "NV7XNVFVrrNWNd5v8KEd+o5rbZKPgEmwNqL8JsPJAUCAtnZQYYsLXN6jzreYz6IUU98MwN"
    "o571PEZ9X6JectzL1QtiY/KQegsXgjE2HubYN1FGk2KJCGN4SlhJsxV63nwaEjsmhXJpEL"
    "4h95ajHGAOvERZH0nTaLpNtwrOosppOnkJpgCKGc4tZsrBVULXpZCsZuqclNHOSLoMz7Yk"
    "Z+BvDYIuXC3K84tHfm4P+DnfreItNBo4EtsuLAhTgxQwjnx3R2GsD7T6eaQNr5SAEf+etk"
    "ajLhysff1KwZCvYlv8no7+HOla70phC8aJo9YLS4bqaFzWYDoa+esgITqEKvtOBtNxQkuu"
    "bB0qpaJJS1x2yClti0tadRdrX/TMNRwBedJrfXmTuYpvB/0PkXkK+M7toJ0DHIARy6l/wC"
    "QO/37IvBbaZ3t9yOTuMrgjEJTdWsx/wXGjTN4zFmEHtKjnu47H4Sp/ILSklatM4oLfRrm8"
    "b3i/cjYbgJFNZNuzNsClvkeQiyAv0UGEwbukBKGA8Uryt8z9SAKvQQJDL8SDksyu1wkm3j"
    "tsPcLailZTuyMc6UOt1ev2P0DLx32CHUD/nnYGvbtbTdeulGhc6Az1wd2ddi3sXM8j5j3V"
    "hsMBtJPE911/PzrFeCl1+8TY4Ue4W3fdJh451OpEP0w2rQ6HOrGoxWYbhT3nevxGtj+kac"
    "kXkiLFVbvPK3ju7rVwz9u8Ai9dDngR7RvXJ9aUfiKLQvdRTkPn/9fxwMCu4qJPBdswjxnR"
    "smSDh+XHeNmztUad1rW2pFLLPwBsk91uEd8yZmoJuR1qTldx2zix2Sa1fWSZd8kyi3QtLf"
    "FqKijlss/88qYs0MVFHRbo4qKaBRK6bHMqimoNhEPzHxDdRi2OrbGCY2sUObZKSv630aC/"
    "LiVvWgZXviu2xQ6xK1gBrgBj9VtX/gUr18eJAdplXcMuL7OXfwBh0Mrm"
)
