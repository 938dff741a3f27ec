"""Message actions: versions and branches (parent, current, on_path), soft delete, finish
reason, temperature and latency per reply; feedback, edit history and the audit log.

Conversations made before this migration were linear: each message's parent is the one
before it (the UPDATE below), so they stay exactly as they were, one branch.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "chat_action_logs" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "message_id" INT,
    "action_type" VARCHAR(32) NOT NULL,
    "owner" VARCHAR(64) NOT NULL,
    "details" TEXT NOT NULL,
    "client_ip" VARCHAR(64),
    "user_agent" VARCHAR(500),
    "created_at" TIMESTAMPTZ NOT NULL,
    "conversation_id" INT NOT NULL REFERENCES "conversation" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_action_log_conversation" ON "chat_action_logs" ("conversation_id", "id");
CREATE INDEX IF NOT EXISTS "idx_action_log_owner" ON "chat_action_logs" ("owner", "created_at");
COMMENT ON TABLE "chat_action_logs" IS 'The audit log: every action on a message, who did it, from where, and what changed.';
        CREATE TABLE IF NOT EXISTS "message_edit_history" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "new_message_id" INT NOT NULL,
    "owner" VARCHAR(64) NOT NULL,
    "original_content" TEXT NOT NULL,
    "edited_content" TEXT NOT NULL,
    "edited_at" TIMESTAMPTZ NOT NULL,
    "conversation_id" INT NOT NULL REFERENCES "conversation" ("id") ON DELETE CASCADE,
    "message_id" INT NOT NULL REFERENCES "message" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "message_edit_history" IS 'Every edit of a user message: the text before and after, and the version it made.';
        CREATE TABLE IF NOT EXISTS "message_feedback" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "owner" VARCHAR(64) NOT NULL,
    "feedback_type" VARCHAR(16) NOT NULL,
    "reasons" TEXT NOT NULL,
    "comment" TEXT NOT NULL,
    "client_ip" VARCHAR(64),
    "user_agent" VARCHAR(500),
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "conversation_id" INT NOT NULL REFERENCES "conversation" ("id") ON DELETE CASCADE,
    "message_id" INT NOT NULL REFERENCES "message" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_message_fee_owner_da0c70" UNIQUE ("owner", "message_id")
);
COMMENT ON COLUMN "message_feedback"."feedback_type" IS 'UPVOTE: upvote\nDOWNVOTE: downvote';
COMMENT ON TABLE "message_feedback" IS 'One editable record per person and reply: the vote, reasons and free text.';
        ALTER TABLE "message" ADD "parent_id" INT;
        ALTER TABLE "message" ADD "finish_reason" VARCHAR(32);
        ALTER TABLE "message" ADD "deleted_at" TIMESTAMPTZ;
        ALTER TABLE "message" ADD "stream_ms" INT;
        ALTER TABLE "message" ADD "current" BOOL NOT NULL DEFAULT True;
        ALTER TABLE "message" ADD "ttft_ms" INT;
        ALTER TABLE "message" ADD "on_path" BOOL NOT NULL DEFAULT True;
        ALTER TABLE "message" ADD "temperature" DOUBLE PRECISION;
        ALTER TABLE "message" ADD "version_of_id" INT;
        ALTER TABLE "message" ADD "server_ms" INT;
        CREATE INDEX IF NOT EXISTS "idx_message_parent" ON "message" ("conversation_id", "parent_id");
        UPDATE "message" SET "parent_id" = (
            SELECT MAX(p."id") FROM "message" p
            WHERE p."conversation_id" = "message"."conversation_id" AND p."id" < "message"."id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_message_parent";
        ALTER TABLE "message" DROP COLUMN "parent_id";
        ALTER TABLE "message" DROP COLUMN "finish_reason";
        ALTER TABLE "message" DROP COLUMN "deleted_at";
        ALTER TABLE "message" DROP COLUMN "stream_ms";
        ALTER TABLE "message" DROP COLUMN "current";
        ALTER TABLE "message" DROP COLUMN "ttft_ms";
        ALTER TABLE "message" DROP COLUMN "on_path";
        ALTER TABLE "message" DROP COLUMN "temperature";
        ALTER TABLE "message" DROP COLUMN "version_of_id";
        ALTER TABLE "message" DROP COLUMN "server_ms";
        DROP TABLE IF EXISTS "chat_action_logs";
        DROP TABLE IF EXISTS "message_feedback";
        DROP TABLE IF EXISTS "message_edit_history";"""


MODELS_STATE = (
    "eJztXW1v2zgS/iuEv2z2kCsab9pd5A4HOIna9a5jB7az3ZcUAmPRtlBJ1Ep0U6OX/35DUr"
    "L1akuuLcs6AkXhkBySejgih88Mqa8tmxrE8l91JsykTo/OWlfoa8vBNoEf6cxz1MKuu87i"
    "CQw/WaL0ZI6ZjkVZ3aIzkYmffOZBGuRPseUTSDKIP/FMlxfjUuM5QXhhmAyBzBUin4m3RL"
    "IWBP8wsonv4xlIPs8pMkwDmewcTT1qQwLxIB07BvzEDEEHnBkxXvGGDTqBlk1ndsA2Fo75"
    "94LojM4Ig2LQ0l8fIdl0DPKF+PzPr62pSSxD/G5NqAMN+1gAZBq8BvifS5Avrgc9gHQ/rC"
    "QcAtP4EsFUj9YhwF+6olhL1AJQiz9ezlGsZfrsQPegyMQjmBFDx6xku6sachrkou4nXbQZ"
    "UyH5nCJdD2W7DnsnCvJxeoJnsha2sy7sLtkcmg1Lmw7jqTMCPeCdhzTmLbgmOQvLCpQvVC"
    "45JOsiciwiMgaZ4oXF9ZFLyw6s01q63h+M9ZE21vVWSldDiYhqBUkwLFzPoau+ePoZ78I/"
    "2xeXP17+9MPby5+giOjmKuXHF9n0GhgpKODpj1svIh8zrK+HMfJeSnXVS4EbF9oOcghpBO"
    "UAwxXIYZE1yuuX/GRgXsMa6LvAJIXrzRx72cAmxBLIQocLIJvS32NDa+MvukWcGZvDnz+0"
    "N+D4W2d483NnePZD+3veIIXpXq4H/SCnLbLiUK/mk6IgrwQaCO/bywLwvr3MhZdnxeE1CM"
    "OmXJ7jAI9hzs4GOCJSHcStry+tA0G8AdKx9vuY12z7/t9WFMqzu87vAmV7GeT0Bv33YfEI"
    "9De9wXUC8ollEofppltGq2NCO8Fetyn5wIq98Imnwyoml6uiMMelmofzm9evCwANpXKRFn"
    "kJhV7biimobyGHmTbJ0eqYZAJuIxB9Ff44xekbHtAYONYyUIxNc033ThuNO3f3sQnntjPW"
    "eE47NtmEqWdvE+O0qgR96I5/RvxP9Oegrwl4qc9mnmhxXW78J98DtPCCUd2hzzo2IiZwmB"
    "qiFh/19CaloH2ZIbmTkVm7wd6Dlcm3R9NPmbZ8ckcXR/sd9Yg5c34lSwF6F3qGnUmWnRns"
    "1W8S1Z0Y2C+hVoWpa7X18PNqf5mlbPADECBMrgWd0U3nVpMb0yc8+fSMPUOPDQHPoW2aSF"
    "mVTWfZbTuZgh1YVYzgaXjfg1G4XhgzwloZXEqQc76JSHlal9lKn3SQCzhQ5zsfgYmMDLDh"
    "lkhW8C/E5gTB0gdIQfZtp9v7Q/+Hfv1w+14bQzpjMBI+mmBXMiLUIWnq5AD1b6dNctmEY2"
    "8bjssqHMS2ymcZxFjDMH0iTsZOIncdSIoppiHNNEiMJrB0Z9hWZGLa2NoEbiiYNK2k5Kug"
    "htODeQOGt9pN967TO2u/Pr+QZiwYTaac7ENtv0zZsAvX2NGGjUsqG7YuNmyIUcSIFb1PWV"
    "jHWfhj5lfG8p80zzZ4U5Ilt5kC+SNf0k+xWjMt7EuHzmeTLQv6DGKGWSirHAc1cRz4YChl"
    "uw3yTaioTFVWVOvf04Uj/XNzaMvjrsVXwSvkkGc97NN/DsUexm2tdhH+u53Pf7dPgP8+fU"
    "t2jS4zmVXKhbMSqJD67pNn7k1mFalwIYqwvYEibKcpQvEa7mJdxQT3YFydjh1bc1sqTQhi"
    "mHzNzyRjybim1CLYyXGKRsQSA/wEcod6q1Yp1Y7q9WDQiw3odTfpMnq4u9aGZxeJrUvG1l"
    "BwWLu8VHFJ9VbV+a1KmdYlxzpLXm1S66IChRwtyr32fzjqipBq2qjnEVLxNV1gpYsdbMnt"
    "d5Zs8yIYDrI94ZBlQ605CzvlUI1HSwayFW4IfWrR9GZwlRr3+40GvcEV4pmPzn1nOO5rwy"
    "vkYo9Bxx6d98PBw/0Vmnl04SZdekWG4+JtgdG4SL5R68HgWfGxeDbZXMdmyV1ERKrCTURI"
    "hUTHYUWP1GzrUIL3TgW6hkH6iQEJhN/9OiTWin7OjjaInQw4sfUmL9QgPoXIoOlvhOlO1t"
    "JUkIhhsv0gpEFNTUVpSojBX8y9APUuUlkTwVqIowoemVDP+EbVeuBVDUVNp2cl5YJ1SCdm"
    "OF1l+C8jM1m+69KOFKrMa7nz6arwXMxuR6uyoh6xJ4K6S7UuhZSjtCaOUo/mOZC2bx1C2T"
    "qfVGk9jPiGgQfGPzqd0agLO9z++Aph0FT+WOzRGf0xGmt3sMdY+ozY9dhFQHMsM/Y//1xL"
    "RKTCvdyhnHpVn2oBYHh3ik8wa4Hqgr9f13qSSayhsC7o8NqV4oBSgooAKkQAuR61XVY+hD"
    "Ulp2JY09o8AYwsIo++lgU4U1aBnAZZoqMTn5m2ACGF8Ub+LEtceeNLeOPBFmKLDM0uZgmu"
    "pSs0PYJ3K+xNYYtwNB5qnbtu/z2YfMwj2Ab0H52bwd19TxtrVyisFyzD8eD+Xrvl5ajrEu"
    "PR0YbDAZiTxPOoVw9LcdWVonbiSqAJa2vlh5+VM7thbs0izuyp6Zj+fKdhT4iqYKX6eK/T"
    "4yy3H/QzTJFmnkd108YlKtmE2bWKncuKQyyxa4nKKGM6Y8ey8LxM9mijDR2RUj7orQYzwO"
    "NieC/KYRyRUhirEGG16kId3K3ECRI6LbcMpOTUUpDBqxDb5Y+/8DLsmXcWxTngJuQS0E65"
    "4OmBu+nY9eDhuqeh+6F20x11B/34ayIy47PVUOv0ElhLW1+HfZCfdcVJvvWYEmye8bj/m/"
    "XkfRy6XYaOjcmo6SJjumBTVg7SiIQCNItX5QxjSS2NyihQszwy6u4udXfXsc2IKu7uUrGn"
    "Kvb01MIphX7lh1SG6rc1rFLnKq/PTZ9RT9yssv2SOE1ceM/lEJ0iLMK+wjvvr8Qtbox8Ye"
    "iJTGHKEnfd4ykjnrz2nmcHe0oEFdjYyLgm7iAtfMNFcSoo8gBBkfzmlZ2unk8LKusiizut"
    "3aUwR9wZ7/9WGOqZM9PBlr5DFGmWbCNArzpSgC8RxNhlCNKSagB2H4DyvoOYoArUqIsvQV"
    "3qXYel+1hf5GkirhsIl8jJsm/kWpp3JPc8QbPEtSubYcmbJBSZVSGZVQH3sKJs8vmHKKuz"
    "nYOIEkrb+YeBQwQ3wGtB8lAvv1Y+uFpecAAeca2lZAo+UwZ1SK+fLzKnHpEEQpp42G/VGY"
    "xD5D7ccPb5qFiII7IQapd80F1y+GZLmDJh3n7wIVVJnaFvPdz/NuAnHBYunx8endvBh75M"
    "MUB3eFpy2jnOmYZg3iqzaY6IVHgE5a+PrcMuy9UdbKC2XfrA8UpEHThWn9Gr5SSvPqOnPq"
    "NXA/Sby7ipez6bNuoZMdupMAvFsyqe9XRwVTyr4llPBuWa86zRSwYzONbEHYT5/Gr03sNi"
    "3OqHOWaIOkTSnDzwyhDEJv9G4JXMoM+CEpUFGC8PS/BkTmTk1cKVgdVpbnV/VT86j6DSLk"
    "PPc8JjvHwUHU9k+ig4mYam1EMzSg10FivhE4YYFah/f458GnyC1H90wgAyA/vzJwoD+Z0P"
    "JRmAhSbYcSgPOoNO8QqelrIZeLxY+37BaLPsr6RFzPQC9/3JARbCeiApFGBZ5LJBoTC7ti"
    "nPYm9vU7HZis1uDNFxLHsxyXM0QIcTi1oZnV0JNFBnG3hx3U6An8oljPW4tq7REAvzqzy6"
    "STEFbFp3S38wXH0q/LzYp8I5ULpPF96k1A1HCbHmOUX278ZWd1oe9/oYdZh939OycvE1zN"
    "lzGkH1DXytanvYvmZY74s2h36g/kOvdyzevEM8czJvZVDmQc75JrYcr8sc8jszihGtkhEN"
    "ToKXMcIjIk1kmN68KcIwvXmTzzDxvLjNwl+qEggHxRuI7kUh/u5iA393kRH0lXe89ZfRoJ"
    "9rFOScazXMCUP/RZbpn2KkwgZwORgxYy8VQJqMFU1YcbyC63Ifwdz/YvbyP9aFdPw="
)
