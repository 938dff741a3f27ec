"""Group chats: the people in a room besides its owner (conversation_member), invite links,
each message's author (who wrote it, or who asked for the reply), and the room setting that
makes the AI answer every message. Existing conversations need no data: the owner is a member
implicitly (Conversation.owner), and a null author is the owner."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "conversation_member" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "role" VARCHAR(16) NOT NULL,
    "joined_at" TIMESTAMPTZ NOT NULL,
    "conversation_id" INT NOT NULL REFERENCES "conversation" ("id") ON DELETE CASCADE,
    "user_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_conversatio_convers_7c1390" UNIQUE ("conversation_id", "user_id")
);
CREATE INDEX IF NOT EXISTS "idx_member_user" ON "conversation_member" ("user_id", "conversation_id");
COMMENT ON COLUMN "conversation_member"."role" IS 'OWNER: owner\nADMIN: admin\nMEMBER: member';
COMMENT ON TABLE "conversation_member" IS 'A person in a partner or group room besides its owner.';
        CREATE TABLE IF NOT EXISTS "invite_link" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_by" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ,
    "max_uses" INT,
    "uses" INT NOT NULL DEFAULT 0,
    "revoked_at" TIMESTAMPTZ,
    "conversation_id" INT NOT NULL REFERENCES "conversation" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "invite_link" IS 'A link that lets an account join a room: a random token (only its sha256 stored),';
        ALTER TABLE "conversation" ADD "ai_answers_all" BOOL NOT NULL DEFAULT False;
        ALTER TABLE "message" ADD "author" VARCHAR(64);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "message" DROP COLUMN "author";
        ALTER TABLE "conversation" DROP COLUMN "ai_answers_all";
        DROP TABLE IF EXISTS "conversation_member";
        DROP TABLE IF EXISTS "invite_link";"""


MODELS_STATE = (
    "eJztXf1z2zbS/lcw+iX2jetLnDh3o3Y6I9tqz1fbythyP67q0LAISTiTgEpQVnx987+/WI"
    "CU+CmRsj4oBjM3V4fEAtADENh9sNj9q+FymzjiuNX3KWdXfNhoor8aDLtE/pF+eYQaeDye"
    "v4IHPn50VOn+CPsWVmUthw/VS/wofE8+k+8H2BFEPrKJ6Ht0DMVAqjsiCE9s6iMp00TkmX"
    "gvSNeC5P8wcokQeCglpyOObGoj6h+hgcdd+YB48jlmtvwT+0h2gA2JfQwN27wvW6ZsuME2"
    "Joz+OSGWz4fEl8VkS7//IR9TZpPPRMA//2oMKHFs9Xejz5lsWGAFELWhBvn/IEE+jz3ZA/"
    "lchJWEQ0DtzxFMrWgdCvyXsSrWULVIqNU/vhyhWMt8ymT3ZJG+R7BPbAv7Jdud1ZDTIIiO"
    "nyzVZmwK6d+pnluh7CXzf1AFYZwe5W9yJi6bFx6/+CPZbFiaMh+eDonsAXRePvO9CcwkNn"
    "GcYPKFk0sPybyIHouIjE0GeOLAfARp3YH5s4Zl3XS61l27a1mN1FwNJSJTK3gkhwXmueyq"
    "UL9+CF345uTdh398+Of7jx/+KYuobs6e/OOLbnoOjBZU8Nx0G1/Ue+xjaz6Mke9ST1erFL"
    "hxoeUgh5BGUA4wnIEcFpmjPP/I9wbmOazBfFeYpHA9H2EvG9iEWAJZ2eECyKbm766hdfFn"
    "yyFs6I/kP9+fLMDx59bt+b9atwfvTw6hQS6Xe70f3ARvTtSrONSz9aQoyDOBGsL78UMBeD"
    "9+yIUXXsXhtYmPqd6e4wB35ZqdDXBEZHsQN/760tgQxAsg7bZ/7ULNrhB/OlEoD65bvyqU"
    "3ZfgzVXn5seweAT686vOWQLyvkMJ8y06LjOrY0IrwV61JXnDE3siiGfJXUxvV0VhjkvVD+"
    "fTt28LAC1L5SKt3iUm9FxXTEF9Id/41CU5szommYDbDkSPwz/2cfmWP9DuMOclmBiL1prL"
    "6/Zdt3X9KbbgXLS6bXhzEltswqcHHxPjNKsE/XLZ/ReCf6L/dG7aCl4u/KGnWpyX6/4HbI"
    "AGnvjcYnxqYTuiAodPQ9Tio542UgrqlxmSKymZlRvsNWiZYB4NnjJ1+aRFF0f7B+4ROmQ/"
    "kRcF+qXsGWb9LD0zsNXPE9XtGdhfwlkVPp1PWw9PZ/Zl1mSTf0gEiK/3gtbdeeuirQ3TR9"
    "x/mmLPtmJDAG/4CU88mZVNv3JP3OQTzOSuYge/BvoeMiZjKoeskcWl6DdHi4gUPKbWU1Bo"
    "KX/SQtCCjaQAGnAPjT0+9LAr0MFDayJniEf/p1BqojOCPeKh72TJ7x8Oj9HdSCrViMvp9C"
    "0SvpxoNsIC+SOS4k820EaPiRE+Of2I+AD+qao+oD6iAnmY2dxVlIvD2fAICY4wEg6fohEW"
    "IyQXM4EY90eyd4doSn35CD1TQSV8PTb2yIB+Rj5HPnEcqFcgPMaevwploxQHPb1KUid6CC"
    "2owNAmFaFN1H9LqI1h+RqanO8KaYzvFmiM79Iao/70yiA8l6gjxh+LQJzU9SIIf0wCDCsK"
    "LIFlII7KrAfk3a4RGzYwjdWTD319rR4HCx/26lXGPSm7hpGvGNmwJwMdYrJwpD3yzJ9WGu"
    "e4pBnlKo9yRG8vqENHJAxrsZy1CO2aV7IV90E1ewZuUZYiMqkqxU74Pu6PXKL6nWYo5m+P"
    "FrIU8XIFiIoBdYg01cfEE5yhydjh2CZ2E1FfSGP9sw/UgDKO+3ImoAPlbwHcgGocmIEhfS"
    "bsMHDGIF4WUbH2NnoMRLlHh5RhVeLgQVMXD0cz5oIyNJIz2wMXmL9DF8Tfge2Q8B+PX4AG"
    "8WEk0AHjoavJYY9NmE8dJCSAIYkRvPsW6mWyy+iRAAMiFJsBndTv3wgU5b9UX4ecCFUN9L"
    "cg1WHYh22yD9U78q6T3VZdl5j9m8OGMcuYsienpwXmrCyVO2nVuwShI39aKTInKF9DfNfP"
    "lrnEpri0N1dcqo5Ab4L6FfR/GSjnLrxhcWNqZSy6WrssM2fnEkZVWK4qSKPUn2T4xgG+bT"
    "ZxU7ZrHOuZ9Bbd5AKLBVArB3qj/Wv3tnXevbz5sYnmtfTYbbt18VsTAaX70mPt29vOrSzg"
    "edxLGlW7WbxnXSnqvzgTqIN717adF8EyLgN2WH6Ln0DJiV9ZqMfS4BCWzVmZ/TIuZHz305"
    "umRsjnPnZK4zqTMsCmgeV9z1IwlYA1JrM9He9tEtK31YJRNjGgNgm0igR17nC8AM24aALS"
    "Acju30xdgN9F5/7sqo0+3bbPL+8uOzfxEyb1Eh7JB1Qz6lKduUruafyJsDKzdi5gpqzCw5"
    "uwvvq9KQzPOHcIZjk4RuUSUD5KwU1hOXsSxTP7MGIdc/Ss07mKaQdnl8nt//76rC313sP4"
    "XE0jbZxO8id1fZ1OBpRRMVpp2BOixhmhys4Iu79SUbHBrfWNiophXZMLFWcTe0gy3RWCN0"
    "eLXBUe52UKuClo34E3AsHVBRtT5wXpCtS5PBLEk0jJ1xety6vfrL9ZZ/cXP7a78rkP1JpA"
    "fTzWISakuZ6ORbGB+l9x0r/rQ+ka+hLnewCosbZK2yVJMbMFpDVojVFf7twZqhTpUxc7i8"
    "ANBZOKlJY8DmrYP5gXmdjStL5uXR2cvD169zZhoYSz/UPqnG8ytle0VOKSxlKpsAqrep9S"
    "sHaz8ce0r4ztP6mdLQhPlSy5TBXIH/mStwhne6a6KgAncM/Ufyl4kzCmmIWy6oeZK4W7d+"
    "oTUlHKdjpbeFrv5ficbUyLanw3mDAd8GzmqHqsLuQei/6IuPiYkakV9uz7TR22JVyqioQV"
    "OskPK3SyB2GF9l+fjRDC1HdK+VLNBLZ4TnxDphCkz9/SFC7kTHWywJnqJMOZCj7DVXSsmK"
    "AhBaujUaVJQb3Uyr2fykpXHeqEvBnx6o/4MyXTMsZ/QsqcTMITLPUX+lz6YDIqtutzyc1/"
    "IGs8n9Q08Co7UlzSLFBVXqBS1mnJsc6SNzxPVaZAoeBvxg/hKxx1w+nWbdTzON34nq6wsh"
    "RTWpLBypKtg9v9Fmx7gCwb6uVXT0LZLbIpgjs8zaTMnsaPzu86V50mgpc99ql1271p3zYR"
    "hN6THeuxH28795+aaOjxiQp3vPs7JnBd3sK0pBURkdqiERHyiNFxmHGLFTYdtP06jxWRYf"
    "suRDtTftfG2144lWJqYSamxBMWdjIuRSw2lVPCBvMczEsclKZSTYRpchIjEwj/8NMtcWbn"
    "ldneabHcPHumXeX5psWn8cKlowxSsXg1+6WYFELKJe6j/GBfh1L0PP1aVVjXiUXZs/yOXw"
    "nXparkirKnusIUxEh5JU7Xupa6gkRs+trlKUCoLWuqK0oDQmzYGNcC1A+RyuoIVnCWu57P"
    "705VVvOPcKJiOXmkzz37lXjdQ1W3qqYaKQvb8tML9IYl3npz7aKYz57lzgUKe/FDZD4cch"
    "CIe5p+QB7nLnokgkoxFRpQ+QHlO+uXq6bHegxSTqp/Qc4CxLgsO22ihygAx+r9A8KOisKB"
    "BH4RKgGlSoNwFKSpjELQYy62iWxxwD2iWodghlRAKEPhgzhW9AvijKhggHziy0fgvYZcOv"
    "RUJTqZJUbDCRE+REDk0MUek33E/T6fMF9lXOhj+QQiEMqisu9vBHqAcJYPh7Il6jjw4/Rv"
    "jnZQHKN2cDMBybEkKIigKDvGwtqbumURaUGrYrlJNX9P+W6q8KN/LPK5jGZuSFxtKeB0qa"
    "eayd5QZtnZtKulx/Ocz5Yzp6HsFpnT+WpVJlxP5xdFmqqVocdaF9eXN02EbZfKb/+6DSxE"
    "E0Vq3jmF+l9O2UpHRzFBc3JUlZMjkyKsCv5NJnx5ra8IVw3std8RTs7lNUBsIsXv4vZVhN"
    "7MsObi5Ge+FafVe8sJCxaw3qAs8iE4u0Qiaj0gUByUScLdJvxXJ4tTt2PRAZcbrjJKguRy"
    "OuXc4VGGYbfmFnpM1qDcsV+OIJI7/kzdiSvxBF0NktzJEZY2HSQR6QMuJkR7BU0MNcalM2"
    "zFpcy9+ITRkJ9j6/GlDMxxqRoGZjbJzIx9tg77bPVLReY6USUGuZC3PiwdoFOUUAOiIiaI"
    "SKbZXQbOV0G50npY5TtZJrHe17DqGO7PMFW7/5T2PZpd6IiRwalEfDTyCRU3UmhrUWwyMC"
    "16mKqzbCWncs6pKiw3i5sdY48wv/BRrm5dCxVvN8jzUaKFeWaQgr/MofAz5OoLtUPZ8m1G"
    "hM0hdQUYpP06pC4PdOP+Do6gga7usdbd3aVUKG66TYTlVIWf5ffY3W933fZ1E4kX4RO3Gs"
    "fUsjk/+PrjI5Of4iQiYrKclM5y4hEsOAvyFRWFPCZUh/uEW0cd+5mQ5y7rc4EdGrGVWtoT"
    "CplUMoAyKXU7NiVYh6m8hauxY4+7Y798fNyUnOG2MlJMSIyk9QNKdGmAM2UNyBkZUxQ6Fh"
    "E+dVdJnJIhvutrl3sVp2gPMzsG31bYm8J6+F33tt26VmkdZfcIdlVWx/PO9aerdrfdRGG9"
    "Uh/vdj59al9AOT4eE9tke6zaMrRtNdEcC+dP9PoeC5t0Q1/HEY02P/izXCJpXqyZRYZLVL"
    "IOq+s2LJcZIV3CaonKGGU6w2KZeF4mZ7dQh45Imeg8SxVmCc8Y+xnejgsxjkgZjE3wVLPr"
    "yjrgjBIIEj4otw2k5MxWkMGrEHcMP3/ilcucnJAzaZMLpE3Wur6lz2LKaI8pwfopj++LJC"
    "x5n5+w5H0qYYlO9me5pULCR2XMcpGxXPgDvxykEQkDaBavCgxjyVkalTGgZtg3Kfefwjdh"
    "UpL1W2rXfxlGqm+jLJI5H+e5hMG3wGUj4xpsXIN3rhZvwzXYxP0zcf/2JjBbdH7l+5uH02"
    "+pz7kFU94aUbj3ri7iLr/NryKCIZCDe/BYOY+ioLqmSnnuk89+GNVMBScb+MTTccrgdcCR"
    "QFw0iH+WDtO2kRbM5fxquVZDgtJwEpYCOC1otIuss4DK5U6tlXrMPTqkDDvWCr7oWbK1AH"
    "3bni+wRRB7lSFIS5oBWH0AVghNEBU0jkdVORsz8QKrsHWvpBYZlags4RK5dvtKrqV+kdiP"
    "EjRLfHYtDxNoyKz63nOfUTb5/EOU1VnOQUQJpeX8QweCkUv1AWpBOj0AhHUPQ7sDB+CRsf"
    "OimYJn7hOI0wen2EK9HHhEEwhp4mG9VWeGPp9ZWeHqkwx7bliIbbIQxkreqJUcftkapkyY"
    "l1/kSVVSZegb959+7sCNnckY1oceu+j8cqOf2HLuwLPkslNkaNZ/RydYt8oYzRGRLV6p+v"
    "2Pxma35e1d1OGuWzpswUzEhC0oD7j2rKDjMit8TMh4Cixf5FWwa6nKZM3sfJjjUvXD+bTQ"
    "zZTTBTdTTtM3U8xVv3z068u4Tcb2iqMelzSjXpVRz7iDkHKzMDyr4Vn3B1fDsxqedW9Qrj"
    "jPGk/vmsGypvK/5nOs8byzxRjWFurz8Qv4XkHix0AU4XR+yDcqb4pH0BgKiBGfEhucrqYj"
    "whRFOmPLEtla1lp/j6nYmvKVwqWJHDljPUXkiqOZL5iYUr8/Ipqo1UMtGxthJmtm3B/Jvs"
    "nu6BQy0FyPTZhPnXkzuitSfihnFiTapP2RooNxXz6FYtMRd4j6bYfFc19KrYGqvw0RvEsi"
    "eDYMxaGNihg9wOhXW8PVRKU1UWkNvWui0u4G9f2LyrfCClSveHwm9u22I0iZ2Lcm9u1eg2"
    "xi366w364z9q2JJGIiiVQeUBNJZBP7mznkX8XWqfbxbvpU3wTw/TrG2Zzjm0Aqu/+U9v5M"
    "VI7ZJeuOPO77TvahaLzE0cJTUVnWonKoo6WXnov+gKlDbATC31Am1NUQ3O/zCfMRdEYdLa"
    "qHOpQXOhCEhCXEcdjY4RGi6vgydTC67gZ6DM67HrEgSHB9tElUbI0p955kNVpOnV0KVb0P"
    "ITZlTTmnl0VPKJ/ISxmWKSi+HkJwt6eUm6KW8g8uB3LOTLxSma6jIiZRWFL9dngf0ler0/"
    "+yillS1mhmVdbMjF9t/kdVL7/alLa4GyXmHjwbbtW90iwNJvp6ofoyUR4S3rzkUtXlF9j7"
    "wdtK3V+Fo3VbKRN9iW1Tv+BTpVroAkpXkHOgL61MpR9Mxpq3SV+aXV/VPdaTevk48O9KOo"
    "MhKgK/LRsNuIeGnNvoIFZCEB/5XKEudSCp8jxObKm9iB4LI4PZWIweuRzIN1Lt4b4EC/Ux"
    "YxyiiclOQQWPL7oZcAiL1l5UK4olhZ45wEWoGSi/JB+0HmAlbAWSagIEK0zjqFwi6lUaD8"
    "TLN6/m66qt6gPH5W0a5zhzS3pHWv36L9Dtyk8uqVrWYA5H4kOPqSUNy3KgxoXM4UROGuUy"
    "S8FMoIZLQQ19R2pt2lfDc6TWECulujy6STEDbHruiiyagvSpi528KSsy+QktcxzI7t+etg"
    "C3i/b55XXrSq6rR+/eJpxswvX4Q/pavQTKEnzi9Usl2EyI1c83cv2eqMatbLduZcYDyqT9"
    "2Wtb2ThH5UO/n5z9fsQcrtpnVmcXmophvS4PGtkPdHN/dbUrF5p7oc4rMo6dNFebf94UeJ"
    "gUO2pqsdAj5RhdJs5w9O175YOib9zLlgjc6OdTBicxnvcSvXCvxyUxSGtvoMceZi40+siF"
    "Dw7g8unhAzroNSbN76j9fa8x86rRvjJ6iZHtoeFE6qNvBPJk09xF1EYD6jivdqIxJxkbOM"
    "mAYVV/l1DUojI1JDE3ExAQ/rZK+oEl5WrnELZ+qImLs7yU8jGeCdTP2Dg5LQKvLJXPxp+m"
    "AB5jIaZcbr0jLEZlgE4J1nDpODk9LYT46QLET1OBifcquoVatBrl0G60Lq4vb5oI2y5lPT"
    "aPdpFUdXbD0e3fBX+poPr0mZQehvPu5c9tOQ5Kusc+tW8u1JX/MWG2UgwvLu9aZ1dwu9+m"
    "AnpoV2OIlKeSPi4pvTBlya5lM6j1RqtRI5/HVP61AvuUJW+8g6vjJprBORmm8StkGh0MZ3"
    "rB9aDyQ58hbr7yqn3lJbzBU/5kr0wP3hrTn7Rxu2effB4JmnBkdB+JJ0Z0/EqYooTxtaq0"
    "rpCJ0CX6VXgBhXuna6oTUJtmw0PIckjxCKJLuXFLRAoXiLALewSxv6EMPXp8Khs7Rt0RsM"
    "r8iRI04vInIBxSykpZ/xZxueOqaxFihE9OP8KFCMjbTmyV+TzNk2+gkR6b3Y0AJhxudkAj"
    "Qt/qCFpBfAI3QuJ3TeVrqJVB5naP/Amc+SoXKlTaEM12l7tfkBgnK7S3zQWDCtDyq1mya7"
    "BhKwazcZ4wJs2GTBpCVrdn5rJm5Pdp5Fenq9ZOVFVt1PdklAsxVR5xZzZSCWfaqJhxoi3h"
    "RGvSCm5DWTFpBbeWVjBiVBU0bCISJiTZcn/K0Nh8pR9l6Km3Z+AWdaCMTKoqhR5rEY/2R4"
    "0Mkih4c7SQH5qXWUYL5QNq3AirxVcESaXKbEwREeMJVMwTCD6qEggHxWuI7rtCm/67BZv+"
    "u4xcwnnpav5917nJvUyRk67Gpn0f/R9yqNjH3X8BuABGzGxIpVBJZks5iht4UMFZlnawzc"
    "3sy/8D+/QPAw=="
)
