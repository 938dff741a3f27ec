"""Message.reasoning: a reasoning model's thought process, kept beside the reply's text
(CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS). Nullable, so existing rows need nothing."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "message" ADD "reasoning" TEXT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "message" DROP COLUMN "reasoning";"""


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
    "RKTCvdyhnHpVn2rxCPapw3tUAvKYUBO4ispRxywT8txpfS1QXcj961pP7QnLBVZjHSa7Us"
    "xbSrAJqlwB7eZ61HZZ+cDhlJyKHE5r8wQwsog8cFwW4ExZBXIaZImOTnxm2gKEFMYbWcss"
    "cRUDUSIGAixQtsjQ7GL291q6QoMveLfC3hS2w0fjoda56/bfg6HNwHCyAf1H52Zwd9/Txt"
    "oVCusFe3w8uL/Xbnk56rrEeHS04XAARjzxPOrVwz5fdaWoqbgSaMLaWvmRcxVC0DBncpEQ"
    "gqnpmP58p2FPiKoQsfrEDKTHWW4/6GeYIs08P/amjUtUsgmzaxU7lxVzW2LXEpVRxnTGjm"
    "XheZmc3UYbOiKlPP9bDWaAx8XwXpTDOCKlMFaB2WrVhTq4M48TJHRabhlIyamlIINXIbbL"
    "H3/hZdgz7yyKc8BNyCWgnXLB0wN302H3wcN1T0P3Q+2mO+oO+vHXRGTGZ6uh1uklsJa2vi"
    "59MWWsx5Rg84zH/d9nKG9B0e0ydGxMRk0XGdMFm7JykEYkFKBZvCpnGEtqaVRGgZrlkVE3"
    "pqkb045tRlRxY5qK+FURv6cWxCr0Kz+QNVS/rcGsOld5fW76jHriPpvtV/Np4jMDXA7RKc"
    "Ii2C780sCVuDuPkS8MPZEpTFniCwN4yognPzbAs4M9JYIKbGxkXM53kBa+4Xo+FYp6gFBU"
    "ft/NThf+pwWVdZHFndbuKp4j7oz3fxcP9cyZ6WBL3yF2N0u2EaBXHSnAlwhi7DIEaUk1AL"
    "sPQHnfQUxQBWrUxZegrlKvw9J9rO8gNRHXDYRL5DzfN3ItzTsIfZ6gWeLalc2w5E0Sisyq"
    "kMyqgHtYUTb5/EOU1dnOQUQJpe38w8AhghvgtSB5lJpf5h9c6C84AI+41lIyBZ8pgzqk18"
    "8XmVOPSAIhTTzst+oMxiFyC3E4+3xULMQRWQi1Sz7oLjl8syVMmTBvP/iQqqTO0Lce7n8b"
    "8BMOC5fPD4/O7eBDX6YYoDs8LTntHOdMQzBvldk0R0QqPILy18fWYZfl6g42UNsufcx7Ja"
    "KOeauPF9ZyklcfL1QfL6wB+s1l3NTtqk0b9YyY7VSYheJZFc96OrgqnlXxrCeDcs151ujV"
    "jhkca+Lmx3x+NXrbZDFu9cMcM0QdImlOHnhlCGKTf5nxSmbQZ0GJygKMl4cleDInMvJq4c"
    "rA6jS3ur+qH51HUGmXoec54TFePoqOJzJ9FJxMQ1PqoRmlBjqLlfAJQ4wK1L8/Rz4NPvzq"
    "PzphAJmB/fkThYH8zoeSDMBCE+w4lAedQad4BU9L2Qw8Xqx9v2C0Wfa36SJmOi+/5ZZFOc"
    "BCWA8khQIsi1zxKBRm1zblWeztbSo2W7HZjSE6jmUvJnmOBuhwYlEro7MrgQbqbAMvrtsJ"
    "8FO5hLEe19Y1GmJhfpVHNymmgE3rbunPtKsPtJ8X+0A7B0r36cKblLrhKCHWPKfI/t3Y6k"
    "7L414fow6z73taVi6+hjl7TiOovoGvVW0P29cM633R5tAP1H/o9Y7Fm3eIZ07mrQzKPMg5"
    "38SW43WZQ37dRzGiVTKiwUnwMkZ4RKSJDNObN0UYpjdv8hkmnhe3WfhLVQLhoHgD0b0oxN"
    "9dbODvLjKCvvKOt/4yGvRzjYKcc62GOWHov8gy/VOMVNgALgcjZuylAkiTsaIJK45XcF3u"
    "06P7X8xe/gcSWuu/"
)
