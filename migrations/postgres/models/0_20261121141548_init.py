from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "conversation" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "share_id" VARCHAR(22) NOT NULL UNIQUE,
    "owner" VARCHAR(64) NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "shared_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_conversatio_share_i_858a4f" ON "conversation" ("share_id");
CREATE INDEX IF NOT EXISTS "idx_conversatio_owner_e3c949" ON "conversation" ("owner");
CREATE TABLE IF NOT EXISTS "message" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "role" VARCHAR(16) NOT NULL,
    "content" TEXT NOT NULL,
    "rating" INT NOT NULL,
    "model_id_used" VARCHAR(200),
    "prompt_tokens" INT,
    "completion_tokens" INT,
    "tokens_estimated" BOOL NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "conversation_id" INT NOT NULL REFERENCES "conversation" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_message_conversation" ON "message" ("conversation_id", "id");
COMMENT ON COLUMN "message"."role" IS 'USER: user\nASSISTANT: assistant\nSYSTEM: system';
COMMENT ON COLUMN "message"."status" IS 'STREAMING: streaming\nCOMPLETE: complete\nSTOPPED: stopped\nERROR: error';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztmm1v4kYQgP+K5U85KY0CTXKnqKoExLmjF3AEvt5LU1mLvYAVe+3zrktQmv/e2fX7Gz"
    "U0UDjxJYLZHe/sM7PemSHPsuOa2KZnPZf8hX2KmOUS+Vp6lglyMHyoHD+VZOR56SgXMDSx"
    "hYJRnDmhzEcGg7EpsikGkYmp4VtetBYJbJsLXQMmWmSWigJifQ+wztwZZnPsw8Aff4LYIi"
    "Z+wjT+6j3qUwvbZs5sy+RrC7nOlp6Q9Qm7FRP5ahPdcO3AIelkb8nmLklmW4Rx6QwT7COG"
    "+eOZH3DzuXXRbuMdhZamU0ITMzomnqLAZpntTvRUJuv6UNX0saLpurwGIGDN4YKpVOx+xk"
    "34qd26eHvx7ueri3cwRZiZSN6+hEunYEJFgWeoyS9iHDEUzhCMU6h0jnysV6HtwUg126xO"
    "gTCYXiQc8/xviOVfpgExOD1pDmv5xhyxsyiQCV7osU2/yttyhIOedBuTGZtz+u0V1H/vjH"
    "ofOqOTdvsNX9CFoxKeo2E00hZD3DGpI9wFIFvHC4nC67ggFvxPYZ6je3XRgO7VRS1dPpSn"
    "yywGk9agmyhsi2764kxQDvFC4nG9oxA+P28Sw+fn9UHMx/KcxTE09XAPedY3gItZDl7xTo"
    "kVC8zNSPMs/tDAA1HwruWALcb3CtJaf6CMtc7gnj/eofS7LWh1NIWPtIV0WZCeXBWckjxE"
    "+tzXPkj8q/RNHSqCpkvZzBcrpvO0bzK3CQXM1Ym70JGZZRKLY1HOx4aPOfcNnJzXfAUvb3"
    "TOtvkagw2aKrGXUQQeiNujw7LS64Fnbuj1vObR6/vi9YrDLqznCfj0MZMtcsEEGY8L5Jt6"
    "biRTU2BK0QzTcnB0I83bjyNsJyVEIQyiTG4QPuUAY+AljvpYmqXptt06nOUhp+0UJYgAFD"
    "Nam69UwFVR3GVI1td1TmbSNku6ZzndUK6YjIoI+Ms18JMHkUtBnmw9rf2e9MhavViNxjEk"
    "i0fALsSXl2Mducs60nfr8muFBI5g2weDEDFwiXGsu7tUe33Q8qexMrqWAor9B9IZj/vwYh"
    "1q1xKCeOXbYg9k/HWsKYNriS4pw468QUreumqQkbeK10GakPOhfD4OyzFMKq5sDU5KTZKW"
    "quyw9tlWzbPqLla+aLlrOAZ5Muh8eZO7iu/U4ft4egZ8707tFoADGG5O8xdMqvDvL5nXon"
    "2+1y+Zwl0Gd4QOx26tDlVJcaNI3rMacgflu+e7jsfgKn/EpCKVqw3ikt5GsbxvvF85mg1g"
    "ZGOR9qwNuFL3CLkMOaSjYwq1pIBQYtx1Id1ApKbtV6FewDwB/W29mBPJbm/Crqre5W7Cbr"
    "941X0adBXIPcTLBCZZDFfzh1yIBRWR3SwTTLV3mHpEZyu2pnFGONZGSmfQH76HlI/5GDlA"
    "/4H01MH9naIp11L8XMgMNfX+Xrnh81zPw+YDUUYjFdJJ7Puuvx+ZYmJK0zwxUfgR7tZdp4"
    "nHHmp9oB9mN61JD3VqEYvON3J7QfX4C8n+NE0rfiEpt7ga53klzd2VhXue5pX60tXAy7Rv"
    "XR9bM/IRL0vZR3UbuvifMQcGu64Xfcq7DYukI1oVbPABCOAwu+t1xr3OjRK2Uqt/ANhmd7"
    "uDfcuYyxXN7WjkdFVvG6Vzjv+tdEjH/HRFl5mHa+URr28FZVT2ub+8aRfo8rJJF+jysr4L"
    "xMfyySk/VGsQjqb/gHRbjXpsrRU9tla5x1bbkv9trA7XbcmblsGkvyXbooeYFayAy2Gsrr"
    "qKBVYhj+MP6FZlDbu8zF7+Aeay7WY="
)
