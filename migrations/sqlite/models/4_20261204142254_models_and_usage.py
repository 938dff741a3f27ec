from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "budget" (
    "owner" VARCHAR(64) NOT NULL PRIMARY KEY,
    "daily_tokens" INT,
    "daily_cost" VARCHAR(40),
    "updated_at" TIMESTAMP NOT NULL
) /* A person's own daily budget; the server's DAILY_*_BUDGET settings cap everyone. */;
        CREATE TABLE IF NOT EXISTS "usage_record" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "owner" VARCHAR(64) NOT NULL,
    "message_id" INT UNIQUE,
    "model" VARCHAR(200) NOT NULL,
    "prompt_tokens" INT NOT NULL,
    "completion_tokens" INT NOT NULL,
    "total_tokens" INT NOT NULL,
    "cost" VARCHAR(40),
    "cost_source" VARCHAR(16),
    "tokens_estimated" INT NOT NULL,
    "ttft_ms" INT,
    "created_at" TIMESTAMP NOT NULL,
    "conversation_id" INT REFERENCES "conversation" ("id") ON DELETE SET NULL
) /* What one reply used and cost: one row per reply that reached the upstream. */;
CREATE INDEX IF NOT EXISTS "idx_usage_owner_created" ON "usage_record" ("owner", "created_at");
CREATE INDEX IF NOT EXISTS "idx_usage_model_created" ON "usage_record" ("model", "created_at");
        ALTER TABLE "conversation" ADD "default_model_id" VARCHAR(200);
        ALTER TABLE "conversation" ADD "mode" VARCHAR(16) NOT NULL DEFAULT 'solo' /* SOLO: solo\nPARTNER: partner\nGROUP: group */;
        ALTER TABLE "conversation" ADD "with_ai" INT NOT NULL DEFAULT 1;
        ALTER TABLE "message" ADD "model_override" VARCHAR(200);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "conversation" DROP COLUMN "default_model_id";
        ALTER TABLE "conversation" DROP COLUMN "mode";
        ALTER TABLE "conversation" DROP COLUMN "with_ai";
        ALTER TABLE "message" DROP COLUMN "model_override";
        DROP TABLE IF EXISTS "budget";
        DROP TABLE IF EXISTS "usage_record";"""


MODELS_STATE = (
    "eJztXFtv2zYU/iuEX5oOWeB4aVpkwwA7UVOvvgS2sl6WQaAlxhYik6pIxTW6/PeRlGTdHc"
    "lLFNvTS5CQPLx855Dn4zlifjTmxEAWPeq4xhSxxhn40cBwjvgviZpD0IC2HZaLAgYnlmw6"
    "CdtMKHOgLnq6hRZFvMhAVHdMm5kEi7ZtYCOHEvyKArLAwICmtQReB78CNkOAIuceObz6ot"
    "3tfdF+0jrXF5eKyssZM/GUAh3aAPEmS4LRkRjUIDofldc9U/8uNr+5SGOE9zFDDh/lr795"
    "sYkN9B3R4E/7Trs1kWXEQORT4AK8VlZpbGnL4vMZdN7LxmL6E00nljvHMQF7yWYEryT4Ak"
    "XpFPFqyJARARi7luVrIijyZswLmOOi1VSNsMBAt9C1hJqEtDeJsKyhaYOhqo0VVdMaKRUG"
    "EhHU/SKdYKF+EzMqUZjD75qF8JTN+J+nJw/eOCEUXisx4J/t0fmH9ujg9OS1GJBwG/JMa+"
    "DXtGTVg+wCMuh1IrEPwZa65mq6Q5imMe9ilg15UiyBPF9NAeR9XFfAB01C5MP9UAX0UzGJ"
    "n1vHJ29P3v1yevKON5HzXJW8XaON7kCVUCeh1QllaWAvkG7OobUO3EAwAa3hSR75PewezG"
    "swvFDOu/1276DVPDxuSqOm3yyToai1nzRfJ3B2bUMsXoNZOPMaZs5RNtBxySTQvuhR8Msm"
    "Z8lLm7SDoDHE1tI3gzXYq92+Mlbb/Ssx3Jxy4CV+bVURNS1ZukyUHpwmTp5VJ+BTV/0AxJ"
    "/g63CgSHi5PU8dOWLYTv3aEHOCLiMaJgsNGlGMguJg9sJl3N5FzjFRMIH63QI6hpaqIS2S"
    "1zZdNW/NkyUQw6nUmQBXTNN37+cEc1dHoa+NlPuP1a8lAXqy5WNUIF/zjzvcH41wfaHPtC"
    "BlGh/SvDfZUuwEIYW+21xTlI+5QiNYo2l816LTXsnKhfl7pyH74EuRfzzkunrTKOFzvMaP"
    "exr/vNteF/8kfibfpVNOlJCWBW0+hYrKVMWiGr/dulgX6IEZH8vRZ5Ad+VsIo4UWzOn3Ri"
    "Vcq9UqwLVarVyuJarijumliWza+ew+kw3RZSazUBl0VwLPhW7atTcGaAGEXVdkws1mERtu"
    "NvONuJmiV3IbbsKuYoJPQK52h8duOZeSRTEdQ374mvcow2V0CLEQxNkajoolFDzhcs+1q1"
    "Yl1Wq1Mxz2YgrtdNXEPrrud5TRwXHi6pJxNUQW2uzKEpesd9U276oUtS6p6yz5+pK6LSbg"
    "b5y1FqDzpW22z+OStdZ3Set1QGrftJ4XkIr7dImVJm+wJa/fWbIb3VK2zJtXcD0RkGVDrW"
    "B3LuHu8jlBrKMU7IFshRdCSiySvgyuSuN5v/GwNzwDovIGX7VH6kAZnQEbOoxP7AZfjobX"
    "V2dg6hDXTqb0iqjj+LSANo6TOypUhqiK62JhspkGzZK3iIhUhZeIIBQS1cMqPLJlV4cSce"
    "/IxkCUwinKyOp1fMn3H0fIWsWeE9j7gbi+18sOupqHwM6C0qxD2xWL0xykE8f4j0hdi65G"
    "sqfdO6hzwXrOPEpgWxkplIjZ5WdP5pFGlSVOYrkPz1PznwWSJv5stWTOp86ZbEHOxCF5se"
    "THWUQgWx2LKA9043osuINLBXFoj8ddTnYH6hmA3F7FstgNHn8Zq0qf040lZWi+HYSCD8cQ"
    "zrhGqXyn5FycQ5EKad1zxffX3Y+Uz2qMUwRAHvTbn1/Hrke94eAyaB4B/rw37CQA58CI6R"
    "Q/YEKBjT4B2gjt5lYfMglfxn2ExrddqetgSrC+Cxa6C9oOmdus/NdsKbn6c7a0NescIwtJ"
    "2lMa4EzZGuQ0yB46GqLMnEsQUhivvUpnideJuRKJOc6FmJth2cWYYChdIfXw91Ywm8KMcK"
    "yOlHa/O7jklI85CM45+jf4fNi/6imqcgaCfjkzVIdXV8qFaEdsGxk3WBmNhpxOIschznYw"
    "xdVUivLElcA++NaqaWKd18o39N3McBTJa92a2KSzjdSeEK2/W9ieRFZaz971g9zzI9LMS6"
    "6su7hEJffhdK3g5pIRVSxMrVOS1d3Et5xZp/Im2YCn0X5PHGRO8Ue0TBG+7OB/8pP/HQM7"
    "L/x/KAI8i1UQOsvY+C/eN2nyZGiPz9sXihe9rv5hRjQFk5FUSGRo8hML0axQoexC49MMMk"
    "AwAg6yraWIsxoAYgOIR1xnXgVZiFeWfgMm2nOmoHOfKF9YurZHwtOPM5+u6xt8w03aZmAx"
    "QxiYjIKoPoFJgf91IbglDpgSYoCDWAuKGGBEov76EFDivxGlN1hMSIxlQDqbEK7IV5S3ZB"
    "wsoEOMCQMTsQDRwWTpDcOXFxufFnw3mv2MJcIrC+RiPAVLYc2XXJOKEQd1ZExpMJuO6XnI"
    "x8es0z9Vpn+276XGCxKcp3+qEaQ+S9luXOhJgoV7YMMJp1aanO+pze5hOmGvU2PbkUzYa4"
    "gl/SqPblKsBjZtu6X/o0P9vxwOi/0vBwGURonr6KXiTgmx/Qs6PX3CpM40vmymkbFbps1L"
    "ncyhRJ06zziW65zU/zAn9fKB8z3cVlsbN98yrJ8qbM7nAQbXvd5Lxc3byDH1WSMjZO7XHK"
    "6LlsOwzXN+hV9HRKuMiAp7zdzi+SQ8IrKPEaY3b4pEmN68yY8wibo4ZxGbqgTCfvM9RPe4"
    "UPzueE387jgzqZ79euCP8XBQ9vWAYeoM/AMsk+5iNn0NuAKMGNlLfSCW/BYsweJEB51yrx"
    "Sf3pk9/AtBNBda"
)
