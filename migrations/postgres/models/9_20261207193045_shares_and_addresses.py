"""Shares become snapshots: shared_message holds a copy of what a share page shows, taken
when the owner presses Share; conversations gain the share's expiry and view count. Shares
made before this get the copy the page showed until now (the branch shown, finished by the
moment of sharing). Replies and usage records gain the address that asked for them, for the
per-address limits."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "shared_message" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "position" INT NOT NULL,
    "message_id" INT NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "content" TEXT NOT NULL,
    "reasoning" TEXT,
    "status" VARCHAR(16) NOT NULL,
    "model_id_used" VARCHAR(200),
    "prompt_tokens" INT,
    "completion_tokens" INT,
    "tokens_estimated" BOOL NOT NULL,
    "server_ms" INT,
    "ttft_ms" INT,
    "stream_ms" INT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "conversation_id" INT NOT NULL REFERENCES "conversation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_shared_mess_convers_cda9cc" UNIQUE ("conversation_id", "position")
);
COMMENT ON COLUMN "shared_message"."role" IS 'USER: user\nASSISTANT: assistant\nSYSTEM: system';
COMMENT ON COLUMN "shared_message"."status" IS 'STREAMING: streaming\nCOMPLETE: complete\nSTOPPED: stopped\nERROR: error';
COMMENT ON TABLE "shared_message" IS 'A copy of one message as its conversation''s share page showed it when the owner';
        ALTER TABLE "conversation" ADD "share_views" INT NOT NULL DEFAULT 0;
        ALTER TABLE "conversation" ADD "share_expires_at" TIMESTAMPTZ;
        ALTER TABLE "message" ADD "client_address" VARCHAR(64);
        ALTER TABLE "usage_record" ADD "client_address" VARCHAR(64);
        CREATE INDEX IF NOT EXISTS "idx_message_address" ON "message" ("client_address", "status");
        CREATE INDEX IF NOT EXISTS "idx_usage_address_created" ON "usage_record" ("client_address", "created_at");
        INSERT INTO "shared_message" ("conversation_id", "position", "message_id", "role",
            "content", "reasoning", "status", "model_id_used", "prompt_tokens",
            "completion_tokens", "tokens_estimated", "server_ms", "ttft_ms", "stream_ms",
            "created_at", "finished_at")
        SELECT m."conversation_id",
               ROW_NUMBER() OVER (PARTITION BY m."conversation_id" ORDER BY m."id") - 1,
               m."id", m."role", m."content", m."reasoning", m."status", m."model_id_used",
               m."prompt_tokens", m."completion_tokens", m."tokens_estimated", m."server_ms",
               m."ttft_ms", m."stream_ms", m."created_at", m."finished_at"
        FROM "message" m JOIN "conversation" c ON c."id" = m."conversation_id"
        WHERE c."shared_at" IS NOT NULL AND m."on_path" AND m."deleted_at" IS NULL
          AND m."status" IN ('complete', 'stopped') AND m."finished_at" <= c."shared_at";"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_usage_address_created";
        DROP INDEX IF EXISTS "idx_message_address";
        ALTER TABLE "message" DROP COLUMN "client_address";
        ALTER TABLE "usage_record" DROP COLUMN "client_address";
        ALTER TABLE "conversation" DROP COLUMN "share_views";
        ALTER TABLE "conversation" DROP COLUMN "share_expires_at";
        DROP TABLE IF EXISTS "shared_message";"""


MODELS_STATE = (
    "eJztXftv4zYS/lcI/7LZQxps3M22SIsCTuLt+ZrEQez06UJlLNomIpGqSMeb29v//fiQbD"
    "1tyfFDVgkUW0fikNI3FDnzcTj83HCpjRx20hpyTMk1HTfOwecGgS4SP9I3j0EDet7ilrzA"
    "4aOjSg8nkFtQlbUcOlY34SPjvrgm7o+gw5C4ZCM29LEni0mp/gQBOLUxB0LmHKBn5L8AXQ"
    "sQ/0HgIsbgWEjOJhTY2AaYH4ORT11xAfniOiS2+Ak5EA9Axsg+kQ3bdChaxmS8xTamBP89"
    "RRanY8RFMdHSH3+Ky5jY6BNi8s/PjRFGjq1+N4aUiIYZVABhW9Yg/pUS6JPniycQ11lYSa"
    "gCbH+KYGpF61Dgv3iqWEPVIqBWf3w5BrGW6YyIxxNFhj6CHNkW5CXbndeQ06AU9Z4s1Was"
    "C+n3VNetULZD+EdVUOrpUbyTM3XJorD3wiei2bA0JlxeHSPxBPLhxTXuT2VPIlPHCTpf2L"
    "m0ShZFtC4iMjYawakj+6OU1g+wuNawrNtu3+q1+5bVSPXVUCLStYJLQi2yn4tHZertx/IR"
    "vmqevv/m/bdff3j/rSiiHnN+5ZsvuukFMFpQwXPbb3xR9yGH1kKNke9Sd1erFLhxodUgh5"
    "BGUA4wnIMcFlmgvPjIDwbmBaxBf1eYpHC9nEA/G9iEWAJZ8cAFkE31331D68JPloPImE/E"
    "n183l+D4c+v+8t+t+6Ovm29lg1QM93o+uA3uNNWtONTz8aQoyHOBGsL74X0BeD+8z4VX3o"
    "rDayMOsZ6e4wD3xZidDXBEZHcQNz5/aWwJ4iWQ9tu/9mXNLmN/O1Eoj25avyqU3ZfgznX3"
    "9seweAT6y+vuRQLyoYMR4Rb2yvTqmNBasFdtSN5yx54y5FtiFtPTVVGY41L1w/ns3bsCQI"
    "tSuUire4kOvbAVU1BfiTscuyinV8ckE3DbgehJ+OMQh2/xgnaXOC9Bx1g21nRu2r1+6+Yu"
    "NuBctfpteacZG2zCq0cfEnqaVwJ+6fT/DeSf4PfubVvBSxkf+6rFRbn+79IHaMAppxahMw"
    "vaERM4vBqiFtd62kkpaF9mSK5lZFZO2RuwMqV7NHrKtOWTHl0c7Y/UR3hMfkIvCvSOeDJI"
    "hll2ZuCrXyaqOzCwv4S9Kry66LY+nM39y6zOJn4IBBDXc0Grd9m6amvH9BEOn2bQt62YCu"
    "Qd2qSJK/Oy6Vtu001egUTMKnbwNvLZQ8bEw0JljSwuRd85XkakQA9bT0GhlfxJC8gWbCAE"
    "wIj6wPPp2IcuA0d/taaih/j4vwqlc3CBoI988L0o+cNfb09AbyKMakBFd/oOMC46mg0gA3"
    "yCUvzJFtoYEDaBzbMPgI7kn6rqI8wBZsCHxKauolwcSsbHgFEAAXPoDEwgmwAxmDFAKJ+I"
    "p3sLZpiLS+AZMyzgGxDPRyP8CXAKOHIcWS8D0IM+X4eyUYaD7l4lqROtQktWYGiTitAm6v"
    "8lzMawfA1dztNCFuPpEovxNG0x6k+vDMILiTpi/KEIxElbL4LwhyTAckSRQ2AZiKMymwF5"
    "v2PElh1M4/XkQ19fr8eBjMu5eh29J2U3oPmKkQ0HougQk6Wa9tEzfVpLz3FJo+Uqazlitx"
    "e0oSMShrVYzVqEfs0r2YqHoJoDA7coSxHpVFViJy6mtnB/GxnsRHDneBk78bgoU4Cc8JDP"
    "KHnDgOQBbIidF6Ar+E65/QKgZ+SL21etzvVv1r+si4erH9t9cZ1zoQEGhtDT8RqUoHRgxx"
    "bqX80Q5Drt+17UrKFhnu/MK10LNT0hkrHOmTvOJ8VMHEQ6DkJjNBRzcoaNhIbYhc4ycEPB"
    "pImkJU+CGg4P5iUYXrUvOzet66Pmu+NTTZkIawjrwT7s7e9TfMnUs9f0NeOSxtessHGqnj"
    "5lSe1n4o8tDmVM/8nFoyWxnsmSq0yBfM2XpOTnc6byu2Xs1TPmLwVp+diyUShr+PmK8PNM"
    "GErZQY35JlRUZldWVOP70ZTo6OGJaMuXgc8nanXrhA0nyIUnBM2s8Ml+aOzE4moWidFr5s"
    "foNQ8gRu/w7dkFuhxzp9Rq1Fxgh+F5t2gmI975jrpwoUWp5pJFqWZ6UUp9huvYWDFBQ/dV"
    "x6JK0316qBVzPxaVrqvqhLzRePU1/ozRrIzzn5DaHdH7LqnSd/u2wiK7HoT9gp9RhtV1Qa"
    "mDIMnZ9RARSwD5KOS2heT8ym4/kItu9zr2bVx0kjHhDzcX7fuj04T3n8GuKBp4nRkpLmkG"
    "qCoPUCnvtKSus+QNz1OVLlAoktpEkvwDtW443bppPY/Tjc/pCitLMaUlGaws2fptUdqKby"
    "8hy4a6TaZuKgYhvh06kN0hm8KoQ9NMyvxqfOm8173ungN5c0DuWvf92/b9OZBx7OLBBuTH"
    "++7D3TkY+3Sq9g7uPzZVxuFbEJf0IiJSO3QiQh4xqoc5t1gx16HE0lFqJ3uYhSOhkED440"
    "/3yJmv4GQH6MRSfxzYfJMXpRMfQnRWhFfCdKNrqStIyMZ8Mwi1RU11RWmEkC0/zI0A9TFS"
    "WR3BCtj1zXx+PVVZzT/Cqcre4qMh9e1X4vUgq7pXNR2eXZkL1jYjJ8K+lRE0Eel2+fESbq"
    "TQzkIl1k44FaYKWi/bVNZGcPF9yjwXpVrXQsXbFYY+n7IyLQQSxd9Mp+sQfqGsXVlrpduM"
    "CJugkwoEnfg0bxl+tQ8ZylZ582LjoSc9RxmKPiCtXq/T67du++cAiq4qX4sPSO+3Xr99I5"
    "zNF8aRWw13UjTHM7O85Gcwiojs0KlPO/SHmb/IR5BRIp+oBOQxoTqQVjtHHfJMyHOH9YXA"
    "HlevKzW0JwwyYWSo3ZhlKNiUYB268g74V8+nrsfLb8JIyZldGOnePBQYOUinliwLcKasAT"
    "kNskbHQoxjV4GQwngpfZ0lboJhSgTDLDywdezvhfQODb7g2wqfprAd3uvft1s3ndsfhaHN"
    "heHkCvQH5LJ7c3fd7rfPQVivsMf73bu79pUsRz0P2QPSvr/vCiMe+T71q2Gfzx+lqKk4F6"
    "jD3LprM9HEkuR39MOMKigSSzLCBLPJWmpPiJpYweoEj6T1rN0P+iyGSJwX0LDMcYlK1mF0"
    "3YXnMiekS3gtURljTGd4LFPfz+TsltrQESkTArLSYBbweJBnZIBbinFEymBsIvTNrCvqkG"
    "uUkiCho3LTQErOTAUZvApyPfn6Uz/DnvnoUJgDbkIuAe1ICh4euMsSh3QfLq7b4O6+fdnp"
    "dbq38c9E3YyPVvft1nUCa23rW3otpoz1mBKsn/G4+ZNrdEYpyy217zAqY4aLjOGCj3g5SC"
    "MSBtAsXlUyjCV7aVTGgJrh36TCf4qOtGnJ+g21W8jFbM4iMWeR7N1s28VZJCbU3oTaH1os"
    "tOpf+fHQYfdbGRNtyS5vTbBMoFXwzJu2OsBXysnjY6AKbgzP8D1XeV85+sTBIxqJIUsdJA"
    "NHHPn6GF95O/DhgajAhXZGYtmttPCK1LIm9Hcb58GgmbXWUbppQWNdZHHVlUsgVyvzmPp4"
    "jAl0rDVipbNkawH6riMz5BSB7HVUkJY0ClhfAeXXamKCJjCmKms35pDSKkzda5lFxiQqS7"
    "hEtoW+kmup3+bn4wTNEu9d2QxL3iBhyKwdklk74B7mlE0+/xBldVZzEFFCaTX/0CVIcQOy"
    "FqB35MuDaILDaBQH4CPPedFMwTPlog69ysrUzZGPNIGQJh42W3UG4xDJoB+OPn8aFmKPLI"
    "TxkrfqJYdftoYpE+bVG01SlVQZ+sbD3c9duaNk6snxYUCuur/c6iu26DvyWnLY2c8ekmDc"
    "KuM0R0R2uOXnjz8b252Wd7eRhLpu6W31cxGzrb484HrlH3tlRviYkIkUWD3Iq4MWhSmT1b"
    "PzYY5L1Q/ns0I7J86W7Jw4S++cMFvR8tGvL+Nm0hrXTesZMfKpMAvDsxqe9XBwNTyr4VkP"
    "BuWK86zxjKoZLGsq5Wo+xxpP9VqMYW2BIfVeZOwVJSgMvAKQAcwZiGL3hgFVP/BkATahM2"
    "TLoKvZBBFFkc7ZssTB4Rutf0BU7kdxS+FyDhzRY31F5LLjeSwYm2E+nCBN1GpVM3m8HhE1"
    "E8on4tnE44haIVfNDciUcOwsmtGPIuTHomeBo9kEDyeKDoZDcVUWm02og9S7vc0ngJNfrL"
    "AasPptiOB9EsFzNRSHNipi7ABjX+0MV5M11WRNNfSuyZq6H9QPL2vcGiNQvfLFmdysu85w"
    "ZHKzmtysBw2yyc26xny7ydysJtOFyXRReUBNpottzG9mkX8dX6fay7vpVX2TYPafoWezjm"
    "8Sqez/Uzr4NVGhsw7pT3zKuZO9KBovcbx0VVSUtbBQdbT0ynXRjxA7yAZS+CtMmNoaAodD"
    "OiUcyIdRS4vqok41BY4YQmEJdhI29vYYYLV8mVoY3XQDAyLXux4hQ4BRvbSJVG6NGfWfRD"
    "VaTq1dMlU9lykgRU05q5dFVyif0EsZlikovhlCcL+rlNuilvIXLkeiz0z9rENcc+eVqIg5"
    "yCppfjt0+CRMK7X6X9YwS8oay6zKlpmJq83/qOoVV5uyFvdjxESPfs6wYBInQ+ebL9HTqI"
    "uZLr/IuV9GW6n9q3Jp3VbGxFBge65v0JkyLXQBZSuIPjAUXqayD6ae5m3Sm2Y3V/WADIRd"
    "7gXxXclgMIBZELdlgxH1wZhSGxzFSjDEAacKdWEDCZPncWoL64UNSJgZzIZs8kiFIt8Is4"
    "dyARYYQkKozCYmHkpW8Piim5EBYdHai1pFsUOL5wFwEWpGll9xXrFWsBK2AknVAYIRpnFc"
    "7qDkdRoPxMs3r/rruq3qBcfVbZrgOLNLek9W/eY30O0rTi5pWtagDyfm1DJ9di5Qwz5bwy"
    "CHWvug1QhxqDXEyvorj25SzACb7rssy59GQ+xCJ6/LskxHWsucBLK1Ikuu2pedm9a1GFeP"
    "T98lokHC8fh9ev+3AMpidOoPS51UmBCrXxDf5kMmTfzTfuOfTKiOOT/loJ06E8WTD/1hks"
    "uHkRy3ap9ZnWM9Kob1pkI9xHOA24fr633FejwwRaxnrI9oUjF/YSQIhSi2JtIiYejECegk"
    "Fhv0NnEVLKG3houWkNx6TmdELhn4/kt0Z7jWS0JJG29gQP6ax3rotQE6OpK7JN/+BY4Gje"
    "n599j+YdCYh3/ooA49xIj2wHgq7NE3DPiiaeoCbIMRdpxXR3sYyn0LlLtUq/pdwlCLytSQ"
    "xNxO5jr52yoZsJSUq13k0uahRi7MCqfJx3guUD9no3lWBF5RKp+NP0sB7EHGZlRMvRPIMk"
    "6ozwc6JVjDoaN5dlYI8bMliJ+lMugeVBoGNWg1yqHdaF3ddG7PAbRdTAZkkZYhaersh6M7"
    "vJ3owkDl+BmVVsNlv/NzW+hBSQ/IXfv2Su1N9xCxlWF41em1Lq7lNnQbM/mEdjVUpEJq9H"
    "JJ6YEpS3Yjk0GtJ1qNGvrkYfFrDfYpS96EsVYnnjGDczJM4z+QaXSgXNML9rGUV32GuPnK"
    "q/aVlwhbXnQM6GHpl77yHOuWh3/Szu2BffJ5JGgiu0IQiPoqjCQf2dM11QmobVO7IWQ5DG"
    "8E0ZVEr8UihQvkNZUDHrK/wgQ8+nQmGjsB/YmkSOkTRmBCxSsAGPKjyvL8DlAxfahgdDaB"
    "zbMPMgxdnpaNbHXedJr03UIjAzKPSJe0roynl40wHUsftALoVMbhx3f4iduyViLPy/bR35"
    "IAXieMXR3WoKnbclHdCT1ZofNowrorwDGv55ZtwCGrGMwmEsDY51uyzxFa3zhfyBrNH5Lm"
    "1+deNs66VE3rB6LlQrSLj1zkPmbti1oaGRoVMxGhJSJCzWFuuzBWzGFuOzvMLeJUFXRsIh"
    "ImEdTq4MDQ2XxlUGAYdnZg4BaNBox0qiolfGohHw8njQySKLhzvJQfWpRZRQvlA2pi4qrF"
    "VwRH+ZSZmCIiJqylWFiL/KhKIBwUryG6p4Um/dMlk/5pxgmueYeE/KfXvc3dGZBzSIiNhx"
    "z8DziYHeLsvwRcCUbMbUgdXJE8o+I47uDJCi6yrINdTmZf/g94iSE/"
)
