"""Accounts: account, account_session (server-side, revocable), api_key (hashed),
sign_in_throttle. Owner columns are unchanged: an account owns rows as "u:<id>", a guest as
its random id, so every existing conversation keeps its guest owner and needs nothing."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "sign_in_throttle" (
    "key" VARCHAR(200) NOT NULL PRIMARY KEY,
    "failures" INT NOT NULL,
    "locked_until" TIMESTAMP,
    "updated_at" TIMESTAMP NOT NULL
) /* Failed sign-ins per account name and per address (see accounts.throttle), in the */;
        CREATE TABLE IF NOT EXISTS "account" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "username" VARCHAR(64) NOT NULL,
    "username_key" VARCHAR(64) NOT NULL UNIQUE,
    "email" VARCHAR(254),
    "password_hash" VARCHAR(255) NOT NULL,
    "role" VARCHAR(16) NOT NULL /* ADMIN: admin\nUSER: user */,
    "status" VARCHAR(16) NOT NULL /* ACTIVE: active\nPENDING: pending\nDISABLED: disabled */,
    "reset_token_hash" VARCHAR(64) UNIQUE,
    "reset_expires_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "last_sign_in_at" TIMESTAMP
) /* An account. Its conversations and everything else it owns carry the owner string */;
        CREATE TABLE IF NOT EXISTS "api_key" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMP NOT NULL,
    "last_used_at" TIMESTAMP,
    "revoked_at" TIMESTAMP,
    "user_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
) /* A named key for programs (`Authorization: Bearer <key>`). Shown once; stored as the */;
CREATE INDEX IF NOT EXISTS "idx_api_key_user" ON "api_key" ("user_id", "created_at");
        CREATE TABLE IF NOT EXISTS "account_session" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMP NOT NULL,
    "last_seen_at" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "remember" INT NOT NULL,
    "client_ip" VARCHAR(64),
    "user_agent" VARCHAR(500),
    "user_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
) /* A signed-in browser. The cookie holds a random token; only its sha256 is stored, and */;
CREATE INDEX IF NOT EXISTS "idx_account_session_user" ON "account_session" ("user_id", "created_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "account_session";
        DROP TABLE IF EXISTS "api_key";
        DROP TABLE IF EXISTS "sign_in_throttle";
        DROP TABLE IF EXISTS "account";"""


MODELS_STATE = (
    "eJztXW1v4zYS/iuEvzR7SIONu0mLtCjgJN49X5M4iJ2+utAyFm0TkUhVpOPN7e1/P75Itl"
    "5tybEdWUvg0MtKHFJ+ZkTOPByOPjdcaiOHHbWGHFNyRceNM/C5QaCLxB/pm4egAT1vcUte"
    "4PDBUa2HE8gtqNpaDh2rm/CBcV9cE/dH0GFIXLIRG/rYk82kVH+CAJzamAMhcwbQE/Kfge"
    "4FiP9B4CLG4FhIziYU2NgGmB+CkU9dcQH54joktvgTciAegIyRfSQHtulQjIzJeItjTAn+"
    "Z4osTseIi2ZipL/+FpcxsdEnxOQ/PzdGGDm2+rsxpEQMzKACCNuyB/FfKYE+eb54AnGdhZ"
    "2EKsD2pwimVrQPBf6zp5o1VC8CavWPL4cgNjKdEfF4osnQR5Aj24K85LjzHnIGlKLeo6XG"
    "jJmQ/p3quhXKdgh/rxpKPT2I3+RMXbJo7D3ziRg2bI0Jl1fHSDyBfHhxjftTaUlk6jiB8Y"
    "XGpVWyaKJ1EZGx0QhOHWmPUlo/wOJaw7Juun2r1+5bViNlq6FExLSCS0It0s7FozL168fy"
    "Eb5tHr/7/t0P352++0E0UY85v/L9Fz30AhgtqOC56Te+qPuQQ2uhxsh7qc3VKgVuXGg1yC"
    "GkEZQDDOcgh00WKC9e8r2BeQFrYO8KkxSuFxPoZwObEEsgKx64ALIp+31taF34yXIQGfOJ"
    "+Od3zSU4/tq6u/h36+7gu+YbOSAV071eD26CO011Kw71fD4pCvJcoIbwnr4rAO/pu1x45a"
    "04vDbiEOvlOQ5wX8zZ2QBHRHYHcePzl8aWIF4Cab/9e1/27DL2jxOF8uC69btC2X0O7lx1"
    "bz6EzSPQX1x1zxOQDx2MCLewV8aqY0JrwV61KXnLhj1lyLfEKqaXq6Iwx6Xqh/PJ27cFgB"
    "atcpFW9xIGvfAVU1BfijscuyjHqmOSCbjtQPQo/GMfp2/xA+0ucZ4Dw1g213Su271+6/o2"
    "NuFctvpteacZm2zCqwenCT3NOwG/dfr/BvKf4M/uTVvBSxkf+2rERbv+nzIGaMAppxahMw"
    "vaERc4vBqiFtd6Okgp6F9mSK7lZFZO2RvwMmV4NHrM9OWTEV0c7ffUR3hMfkHPCvSOeDJI"
    "hll+ZhCrXyS62zOwv4RWFV5dmK0PZ/P4MsvYxB8CAcT1WtDqXbQu2zowfYDDxxn0bSumAn"
    "mHNmniyrxt+pbbdJNXIBGrih38GvnsIWPiYaGyRhaXou8cLiNSoIetx6DRSv6kBeQINhAC"
    "YER94Pl07EOXgYOPramwEB//V6F0Bs4R9JEPfhItf/745gj0JsKpBlSY04+AcWFoNoAM8A"
    "lK8SdbGGNA2AQ2T04BHcl/qq4PMAeYAR8Sm7qKcnEoGR8CRgEEzKEzMIFsAsRkxgChfCKe"
    "7g2YYS4ugSfMsIBvQDwfjfAnwCngyHFkvwxAD/p8HcpGOQ7avEpSJ1qFluzA0CYVoU3U/5"
    "dwG8P2NQw5jwt5jMdLPMbjtMeoX70yCC8k6ojxaRGIk75eBOHTJMByRpFTYBmIozKbAfl1"
    "54gtB5gm6smHvr5RjwMZl2v1OnpPym5A8xUjG/ZE0SEmSzXtoyf6uJae45JGy1XWcsRvL+"
    "hDRyQMa7GatQjjmheyFfdBN3sGblGWImJUVWInzqe2CH8bGexEcOdwGTvxsGhTgJzwkM8o"
    "+YYByQPYEDvPQHfwowr7BUBPyBe3L1udqz+sf1nn95cf2n1xnXOhAQaG0NP5GpSgdGLHFv"
    "pfzRDkBu2vvalZQ8c8P5hXuhZqekQkY58zd55Pipk8iHQehMZoKNbkDB8JDbELnWXghoJJ"
    "F0lLHgU97B/MSzC8bF90rltXB823h8eaMhHeENaTfWjt71J8ydSz14w145Im1qywc6qePu"
    "VJvc7CH9scylj+k5tHS3I9ky1XuQL5mi9Jyc/XTBV3y9yrJ8yfC9LysW2jUNbw8xXh55lw"
    "lLKTGvNdqKjMrryoxk+jKdHZwxMxli8Tn4/U7tYRG06QC48Imlnhk/3c2InH1SySo9fMz9"
    "Fr7kGO3v77swt0OeZOqd2oucAO0/Nu0ExmvPMdmXChTanmkk2pZnpTSr2G6/hYMUFD91XH"
    "o0rTfVBMwfgJZSwc55Q6CJKcxO2IWELBD0JuW2/V/MputXre7V7FFHreSaa13l+ft+8Ojh"
    "MBTEaAqJisdV6quKR5q6r8VqUc7JK6zpI3oWpVTKBQMqjZDP8KtW5oqbppPY+Wiq/pCitL"
    "kT0lg/As2fqdsthKeCIhy4a6TaZuahs1fqIzkN1hQMioQ9PB4PxqfPev173qngF5c0BuW3"
    "f9m/bdGZCpuOLBBuTDXff+9gyMfTr1kht7r5NeJ1OJLYhLRhERqR0GESEVEtXDnB6pWOhQ"
    "gv1OHcYNCwkkFBIIv//lDjlzEjo7xyBWvWDP1pu8RIP4FKIPdr8QpmvdS11BQjbmm0GoLX"
    "qqK0ojhGz5Ym4EqPeRzuoI1lSVU/DRkPr2C03rXnZ1p3raPy8pF6xtbmWG01XGLmZkJsvf"
    "wHQjjXa2d7l2BZiwdsd65V+yTmZCXx08LzW6FjLbpRXZLvVp3gbS6tAhlK3ysZvGfU8GDD"
    "KJckBavV5HRLg3/TMAhaXKn8UHpPdHr9++FjHGM+PIrUYUIYbjmfUJ8mtvRER2GMtta1Nv"
    "15U3fAQZJfKJSkAeE6oDV7Fz1CHPhDx3Wl8I7C7B/m2lp/aE5yJWY3WOqAzzlhKsgynvgH"
    "bzfOp6vHz6cErO5A+nrXkoMHKQLopWFuBMWQNyGmSNjoUYx64CIYXxUtYyS9zkQJTIgRAe"
    "KJ9mWHYx/3shvUOHL3i3wqcp7If3+nft1nXn5oNwtLlwnFyB/oBcdK9vr9r99hkI+xX+eL"
    "97e9u+lO2o5yF7QNp3d13hxCPfp341/PP5oxR1FecCdVhbd+0mmhSCfEPfz83kIikEI0ww"
    "m6yl9oSoSRGrTs5AWs86/KBPYorEefvYywKXqGQdZtddRC5z5rZE1BKVMc50RsQy9f1Mzm"
    "6pDx2RMjv/Kx1mAY8HeUbtoqUYR6QMxiYx26y6og+5mScJEjoqtwyk5MxSkMGrINeTP3/q"
    "Z/gz7x0Kc8BNyCWgHUnB/QN32ZH37v35VRvc3rUvOr1O9yb+mqib8dnqrt26SmCtfX1L78"
    "WU8R5TgvVzHjf/zQVdC8Vyy9CxMRkzXWRMF3zEy0EakTCAZvGqkmEsaaVRGQNq1o6Mqepu"
    "qrq/thuxi6ruJuPXZPzuWxKrsq/8RNbQ/FYms1rS5K0JlqVICn49oK0+hSjlZCF+qJLtwq"
    "8hnqkKehx94uABjcSUpUrywxFHvv4gorwdxJRAdOBCO6NE31ZGeEGRPpOKuo3K+mhmrfVR"
    "wrSg8S6yuNPKleJ5xch487V4qI/HmEDHWiN3N0u2FqDvOlNALhHIXkcFaUmjgPUVUH7vIC"
    "ZoEjWqspdgPvdWhaX7tb7VXEdclxAukfN8L+Ra6ncQ+jBBs8StK5thyZskDJm1QzJrB9zD"
    "nLLJ5x+irM5qDiJKKK3mH7oEKW5A9gL0UWpZ0j8o6684AB95zrNmCp4oF33oXT+mbo58pA"
    "mENPGw2a4zGIdILeJw9vnbsBCvyEKYKHmrUXL4ZmuYMmFeffAh1UmVoW/c3/7alSccpp6c"
    "Hwbksvvbjb5iC9uR15LTzuucaQjmrTJBc0Rkh0dQ/vq7sd1leXcHG6jrlj7mPRcxx7zLA+"
    "5glcTslZnhY0L1SxLa/CSvPlklXJksy86HOS5VP5xPCmXynyzJ5D9JZ/Kbo1H56NeXcTPV"
    "Veum9Yyc7VSaheFZDc+6P7gantXwrHuDcsV51p7QWYf0Jz7lXOGcolkTLQ6XsaxMtLWwUH"
    "W09UqW9T3EDrKBFP4WE6ZoUDgc0inhQD6M4jvVRduWhQDBAUMobMGOwsHeHAJMJFua4lo3"
    "PcCASJLvATIEGBUXINcfaQUz6j+KbrSc/sKr6p7L4zeipxyqtigt+4iey4Q9QfPafb11gw"
    "eX89nakbCZqZ9Vtjh3uY6KmCJiSQ/IoUP5fXrxZmCnbGyRlDUHQKsTTJgY8uuNIVOe+Os4"
    "MdH61BkeTKJ8db77Ei2ZXcx1+U2u/ZQgvVcrs8dt5UzIj0yf6Rt0plwL3UD5CsIGhhOk08"
    "ennj4dlt4g3lzXAzIQfrnHwWyCZKI6A1GnFGAGguP1YER9MKbUBgexFgxxwKlCXfhAwuXR"
    "37BnAxJmwduQTR6oUOQ3wu2hXIAFhpAQKjPnxUPJDh6e9TDi58XGL+oVZX9mN8I1yvYrSk"
    "VrBSthK5BUBvBcpE61Mph1x9QFZVaPabbkzZZ8bXZrXov0Svp2NbDhxKJWxmbnAjW02RpW"
    "3611EFiN2ru1hli5X+XRTYoZYNO2y7ICWjTELnTyTJZlRrJa5iiQrRVbcdm+6Fy3rsS8en"
    "j8NlERLJyP36WTDQRQFqNTf1iqTGNCrH6ZHZvPxTOFudcw6g3WwDMVeTY9LZs8pZqxjftx"
    "MrCGr1VlKwZVDOtN7f2L5wA391dXr7X5f88U05pBmGuSK58pD/bGi5HkLRLupR+BToJ91o"
    "eZ1O45n0hqWIyEZDEVOiOSQ/b9Z0UwK+INBHpJKGnjAwzIx/nmvyaL6ehAJhG/+QgOBo3p"
    "2U/Y/nnQmOcD6F1+PcWI8cB4KvyjbxjwxdDUBdgGI+w4L97+NxTwFihgqVb1d4mwIypTQ1"
    "JtO2n78m+rZAZLUq52qSybhxq5MCu/Ih/juUD9oufmSRF4Rat8dvgkBbAHGZtRsfROIMso"
    "F58PdEqwhlNH8+SkEOInSxA/SR0f3KsvyapJq1EO7Ubr8rpzcwag7WIyIIsvyyZdndfhjP"
    "bwY2LCIcVPpT8l1rrod35tCz0o6QG5bd9cqg+LeYjYyjG87PRa51fyG2I2ZvIJ7WqoSOVY"
    "aPq+9MSUJbuRxaDWC61GDX3ysPhrDfYpS97kNVYnwS2DczJM41fINDpQ7jEFBxvKqz5D3L"
    "zlVXvLS+SxLgwDeljGpS8s4t3y8C86uN2zVz6PBI17jmFi5IswknxkT/dUJ6C2Te2GkOUw"
    "vBFEVxK9Fos0Xk34qqNWyP4WE/Dg05kY7Aj0J5IipY8YgQkVPwHAkB9VnuePgIrlQ2Unsw"
    "lsnpzKvGRZKhzZqth2mvTdwiADMk9RlrSuTLCWgzCdXB2MAuhUJmbHj3yJ27JXIouF++gf"
    "SQCvk9esKlVo6rZclnFCT1YYPJo04wpwzOuFZRsIyCoG85YjMuOff73+OULrO+cLWaP5fd"
    "L8+tzLxlmXqml9T7RciHbxkYvch6xzOkszFaNiJkOxRIaiqWS3C2fFVLLbWSW7SFBVMLCJ"
    "SJiqS6uTA8Ng84VJgWHa2Z6BWzQbMGJUVaoA1EI+Hk4aGSRRcOdwKT+0aLOKFsoH1OTEVY"
    "uvCL5pV2ZhioiYtJZiaS3ypSqBcNC8hugeF1r0j5cs+scZ5WvzPtT1n173JvdkQM4Xumw8"
    "5OB/wMFsH1f/JeBKMGJhQ6oUdrLq9WE8wJMdnGd5B7tczL78H0u4AGs="
)
