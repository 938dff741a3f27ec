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
    "eJztXW1v4zYS/iuEvzR7SIONu9kWaVHASby9XJM4iJ32XlyojEXbRGRSleh4c7397zckJV"
    "uvtuT4RVYJFFtH4pDSMxQ583A4/LMx4TZx/JPWQFDObviocY7+bDA8IfAjffMYNbDrLm7J"
    "CwI/Oar0YIyFhVVZy+EjdRM/+cKDa3B/iB2fwCWb+AOPurKYlOqNCcJTmwoEMueIvBDvFe"
    "laEPyH0YT4Ph6B5GzMkU1tRMUxGnp8AheIB9cxs+EnFggegI2IfSIbtvkAWqZstMU2poz+"
    "MSWW4CMioBi09J/f4DJlNvlMfPnnn40hJY6tfjcGnEHDPlYAUVvWAP9KCfLZ9eAJ4LofVh"
    "KqgNqfI5ha0ToU+K+uKtZQtQDU6o8vxyjWMp8xeDwoMvAIFsS2sCjZ7ryGnAalqPtsqTZj"
    "XUi/p7puhbLXTHxSBaWenuCdnOmELQq7r2IMzYalKRPy6ojAE8iHh2vCm8qexKaOE3S+sH"
    "NplSyKaF1EZGwyxFNH9kcprR9gca1hWXedntVt9yyrkeqroUSkawWXQC2yn8Oj+urtR/IR"
    "vm6efvj2w3fffPzwHRRRjzm/8u0X3fQCGC2o4LnrNb6o+1hga6HGyHepu6tVCty40GqQQ0"
    "gjKAcYzkEOiyxQXnzkBwPzAtagvytMUrhejrGXDWxCLIEsPHABZFP9d9/QTvBnyyFsJMbw"
    "5zfNJTj+0nq4/Hvr4eib5jvZIIfhXs8Hd8GdproVh3o+nhQFeS5QQ3g/figA78cPufDKW3"
    "F4bSIw1dNzHOAejNnZAEdEdgdx488vjS1BvATSXvufPVnzxPf/cKJQHt22/qlQnrwGd246"
    "dz+FxSPQX950LhKQDxxKmLCoW6ZXx4TWgr1qQ/KWO/bUJ54Fs5ierorCHJeqH85n798XAB"
    "pK5SKt7iU69MJWTEF9BXcEnZCcXh2TTMBtB6In4Y9DHL7hBe0Oc16DjrFsrLm+bXd7rdv7"
    "2IBz1eq15Z1mbLAJrx59TOhpXgn69br3dyT/RP/u3LUVvNwXI0+1uCjX+7f0ARp4KrjF+M"
    "zCdsQEDq+GqMW1nnZSCtqXGZJrGZmVU/YGrEzpHg2fM235pEcXR/sT9wgdsZ/JqwL9Gp4M"
    "s0GWnRn46peJ6g4M7C9hrwqvLrqth2dz/zKrs8EPQIAIPRe0upetq7Z2TJ/w4HmGPduKqU"
    "De4U2euDIvm741aU6SVzCDWcUO3kY+e8iYuBRU1sjiUvSd42VECnap9RwUWsmftJBswUYg"
    "gIbcQ67HRx6e+Ojo99YUeohH/6tQOkcXBHvEQz9AyR9/f3eCumMwqhGH7vQ98gV0NBthH4"
    "kxSfEnW2ijz/wxbp59RHwo/1RVH1GBqI88zGw+UZSLw9noGPkcYeQ7fIbG2B8jGMx8xLgY"
    "w9O9QzMq4BJ6oT4F+PrM9ciQfkaCI0EcR9brI+xiT6xD2SjDQXevktSJVqElKzC0SUVoE/"
    "X/EmZjWL6GLudpIYvxdInFeJq2GPWnVwbhhUQdMf5YBOKkrRdB+GMSYDmiyCGwDMRRmc2A"
    "vN8xYssOpvF68qGvr9fjYF/IuXodvSdlN6D5ipENB6LoEJOlmvbIC39eS89xSaPlKms5Yr"
    "cXtKEjEoa1WM1ahH7NG9mKx6CaAwO3KEsR6VRVYicupja4v40MdiK4c7yMnXhalClATrjE"
    "8zn7ykeSB7AxdV6RruB75fYDQC/Eg9tXreubf1l/sy4er35q9+C6EKABHw2wq+M1OCPpwI"
    "4t1L+aIch12ve9qFlDwzzfmVe6BjU9E5axzpk7zifFTBxEOg5CYzSAOTnDRiIDOsHOMnBD"
    "waSJpCVPghoOD+YlGF61L69vWzdHzffHp5oyAWuI6sE+7O0fUnzJ1LXX9DXjksbXrLBxqp"
    "4+ZUntZ+KPLQ5lTP/JxaMlsZ7JkqtMgXzNl6Tk53Om8rtl7NULFa8FafnYslEoa/j5ivDz"
    "PhhK2UGN+SZUVGZXVlTjh+GU6ejhMbTlycDnE7W6deIPxmSCTxiZWeGT/djYicXVLBKj18"
    "yP0WseQIze4duzC3QFFU6p1ai5wA7D8+7ITEa8ix114UKLUs0li1LN9KKU+gzXsbFigobu"
    "q45Flab79FALcz+FStdVdULeaLz6Gn+hZFbG+U9I7Y7ofZ9U6ft9W2GRXQ9gv9AXkmF1XX"
    "DuEMxydj1ExBJAPoHctpCcX9ntB3LR6dzEvo2L62RM+OPtRfvh6DTh/WewK4oGXmdGikua"
    "AarKA1TKOy2p6yx5w/NUpQsUiqQ2kSR/Qa0bTrduWs/jdONzusLKUkxpSQYrS7Z+W5S24t"
    "tLyLKhbrPpJBWDEN8OHcjukE3xucPTTMr8anzpvNu56ZwjebPP7lsPvbv2wzmScezwYH32"
    "00Pn8f4cjTw+VXsH9x+bKuPwLUxLehERqR06ESGPGNXDnFusmOtQYukotZM9zMKRUEgg/O"
    "nnB+LMV3CyA3RiqT8ObL7Ji9KJDyE6K8IbYbrVtdQVJGJTsRmE2lBTXVEaEmLLD3MjQH2K"
    "VFZHsAJ2fTOfX1dVVvOPcKqyt3hkwD37jXg9yqoeVE2HZ1fmgrXNyImwb2UETUS6XX68xC"
    "RSaGehEmsnnApTBa2XbSprIzh8nzLPRanWtVDxdsHQF1O/TAuBRPE30+k6wC+UtStrrXSb"
    "EWETdFKBoBOP5y3Dr/YhQ9kqb15sPHal5yhD0fus1e1ed3utu945wtBV5WuJPuv+q9tr34"
    "Kz+eoLMqmGOwnNicwsL/kZjCIiO3Tq0w79YeYv8gj2OZNPVALymFAdSKudo45FJuS5w/pC"
    "YI+r15Ua2hMGGRgZajdmGQo2JViHrrwD/tX1+MQV5TdhpOTMLox0bx4ARg7RqSXLApwpa0"
    "BOg6zRsYgv6ESBkMJ4KX2dJW6CYUoEwyw8sHXs74X0Dg2+4NsKn6awHd7tPbRbt9d3P4Gh"
    "LcBwmgD6fXbZub2/affa5yisF+zxXuf+vn0ly3HXJXaftR8eOmDEE8/jXjXs8/mjFDUV5w"
    "J1mFt3bSaaWJL8jn6YUQVFYkmGlFF/vJbaE6ImVrA6wSNpPWv3g7/AEEnzAhqWOS5RyTqM"
    "rrvwXOaEdAmvJSpjjOkMj2XqeZmc3VIbOiJlQkBWGswAj4tFRga4pRhHpAzGJkLfzLpQh1"
    "yjlAQJH5abBlJyZirI4FXIxJWvP/Uy7JlPDsc54CbkEtAOpeDhgbsscUjn8eKmje4f2pfX"
    "3evOXfwzUTfjo9VDu3WTwFrb+pZeiyljPaYE62c8bv7kGp1RypqU2ncYlTHDRcZwIYaiHK"
    "QRCQNoFq8qGcaSvTQqY0DN8G9S4T9FR9q0ZP2G2i3kYjZnkZizSPZutu3iLBITam9C7Q8t"
    "Flr1r/x46LD7rYyJtmSXt8ZUJtAqeOZNWx3gK+Xk8TFYBTeGZ/ieq7yvgnwW6IkMYchSB8"
    "ngoSCePsZX3g58eAQVTLCdkVh2Ky28IbWsCf3dxnkwZGatdZRuWtBYF1lcdeUSyNXKPOYe"
    "HVGGHWuNWOks2VqAvuvIDDlFEHsdFaQljQLWV0D5tZqYoAmMqcrajTmktApT91pmkTGJyh"
    "IukW2hb+Ra6rf5+ThBs8R7VzbDkjdIGDJrh2TWDriHOWWTzz9EWZ3VHESUUFrNP3QYUdyA"
    "rAXpHfnyIJrgMBrFAXjEdV41U/DCBdShV1l9dXPoEU0gpImHzVadwThEMuiHo89vhoXYIw"
    "thvOStesnhl61hyoR59UaTVCVVhr7xeP9LR+4ombpyfOizq86vd/qKDX1HXksOO/vZQxKM"
    "W2Wc5ojIDrf8/Oe3xnan5d1tJOGTSelt9XMRs62+POB65Z+6ZUb4mJCJFFg9yKuDFsGUye"
    "rZ+TDHpeqH81mhnRNnS3ZOnKV3TpitaPno15dxM2mN66b1jBj5VJiF4VkNz3o4uBqe1fCs"
    "B4NyxXnWeEbVDJY1lXI1n2ONp3otxrC20IC7rzL2ijMSBl4h7CMqfBTF7isfqfqRKwv4Yz"
    "4jtgy6mo0JUxTpnC1LHBy+0fr7TOV+hFsKl3PkQI/1FJHrH89jwfwZFYMx0UStVrUvj9dj"
    "UDPjYgzPBo8DtWKhmuuzKRPUWTSjHwXkR9Cz0NFsTAdjRQfjAVyVxWZj7hD1bu/yCeDkFw"
    "tWA1W/DRG8TyJ4robi0EZFjB1g7Kud4WqyppqsqYbeNVlT94P64WWNW2MEqle+OJObddcZ"
    "jkxuVpOb9aBBNrlZ15hvN5mb1WS6MJkuKg+oyXSxjfnNLPKv4+tUe3k3vapvEsz+NfRs1v"
    "FNIpX9f0oHvyYKOrtmvbHHhXCyF0XjJY6XropCWYuCqqOlV66LfsLUITaSwl9T5qutIXgw"
    "4FMmkHwYtbSoLupUU+jIJyQs4Z+Ejb07RlQtX6YWRjfdQJ/J9a4n7BPkc720SVRujRn3nq"
    "EaLafWLn1VvZApIKGmnNXLoiuUz+S1DMsUFN8MIbjfVcptUUv5C5dD6DNTL+sQ19x5JSpi"
    "DrJKmt8OHzyDaaVW/8saZklZY5lV2TIzcbX5H1W94mpT1uJ+jJjo0c8ZFkziZOh88yV6Gn"
    "Ux0+VXOffLaCu1f1UurdvKmBgAtuf6Bp8p00IXULYC9IEBeJnKPpi6mrdJb5rdXNV91ge7"
    "3A3iu5LBYIj6QdyWjYbcQyPObXQUK+ETgQRXqIMNBCbP09QG68XvszAzmI398RMHRX4FZg"
    "8XABYaYMa4zCYGDyUreHrVzciAsGjtRa2i2KHF8wC4CDUjy684r1grWAlbgaTqAMEI0zgu"
    "d1DyOo0H4uWbV/113Vb1guPqNk1wnNklvSerfvMb6PYVJ5c0LWvQhxegYpda4FiWAzUuZB"
    "Ynco75LTMUzAVqOBTUMHak1q59NSJHag2xMqrLo5sUM8Cm+66fRVOQAZ1gJ6/L+pn8hJY5"
    "CWQPb05bgttV+/L6tnUD4+rx6ftEkE04Hn9Ib6sHoCyfT71BqQMgE2L1i43cfCSqCSvbb1"
    "iZiYAyx9IctK9sgqPyoT9Mzv4wcg5X7TOrcwhNxbDeVAQNPAe6e7y52VcIzaOv1isylp00"
    "V5u/3hREmBRbamqxMCLlBF0n1nD07nsVg6J33ENLRO7o5zMmV2I87zW64V7rJaGkjTfQZ7"
    "/PQ2j0kgsfHsnNp+9+R0f9xvT8B2r/2G/Mo2p0rIweYqA9NJqCPfqVjzxomk8QtdGQOs6b"
    "g2jMSsYWVjKkWtXvEoZaVKaGJOZ2EgLK31bJOLCkXO0CwjYPNZngrCilfIznAvVzNppnRe"
    "CFUvls/FkKYBf7/ozD1DvG/rgM0CnBGg4dzbOzQoifLUH8LJWY+KCyW6hBq1EO7Ubr6vb6"
    "7hxhe0JZny2yXSRNnf1wdIe3wR8MVEFfSGk1XPauf2mDHpR0n923767Uln+XMFsZhlfX3d"
    "bFjdzdb1NfPqFdDRWpSCW9XFJ6YMqS3chkUOuJVqNGPrsUfq3BPmXJm+jg6oSJZnBOhmn8"
    "CzKNDpZresH2oPKqzxA3X3nVvvIS0eCpeLI3Hg/ecunP2rk9sE8+jwRNJK0I4nvfhJHkI7"
    "u6pjoBtW1qN4Qsh+GNILqS6LX8SOEC6WLlgEfsrylDTx6fQWMnqDeWFCl/pgSNObwCwiE/"
    "qizP7xGH6UPF+Ptj3Dz7KKP75SHkxFbHeKdJ3y000mfzQH9J68ptCrIRX29RCFpBfCq3N8"
    "Q3TsJtWSuTx5B75A9JAK+zO0CdgaGp23LB8gk9WaHzaKLlK8Axr+eWbcAhqxjMJhLA2Odb"
    "ss8JWd84X8gazR+S5tfnXjbOulRN6wei5UK0i0cmZPKUtd1saWRoVMxEhJaICDVn5O3CWD"
    "Fn5O3sjLyIU1XQsYlImPxaq4MDQ2fzjUGBYdjZgYFbNBow0qmqlEerRTw6GDcySKLgzvFS"
    "fmhRZhUtlA+oiYmrFl8RnJBUZmKKiJiwlmJhLfKjKoFwULyG6J4WmvRPl0z6pxkH4+advf"
    "KPbucud2dAztkrNh0I9D/kUP8QZ/8l4EowYm5D6jyQ5NEfx3EHT1ZwkWUd7HIy+/J/+GWN"
    "Sg=="
)
