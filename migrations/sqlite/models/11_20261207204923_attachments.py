from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "attachment" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "owner" VARCHAR(64) NOT NULL,
    "message_id" INT,
    "name" VARCHAR(255) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "media_type" VARCHAR(100) NOT NULL,
    "size" INT NOT NULL,
    "sha256" VARCHAR(64) NOT NULL,
    "status" VARCHAR(16) NOT NULL /* EXTRACTING: extracting\nREADY: ready\nERROR: error */,
    "error" TEXT,
    "text" TEXT NOT NULL,
    "pages_done" INT,
    "pages_total" INT,
    "ocr_pages" INT NOT NULL DEFAULT 0,
    "ocr_confidence" REAL,
    "tokens" INT NOT NULL DEFAULT 0,
    "truncated" INT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP NOT NULL,
    "finished_at" TIMESTAMP,
    "conversation_id" INT REFERENCES "conversation" ("id") ON DELETE CASCADE
) /* A file a person uploaded: its text as extracted (what the model is given) and where */;
CREATE INDEX IF NOT EXISTS "idx_attachment_owner_9b809d" ON "attachment" ("owner");
CREATE INDEX IF NOT EXISTS "idx_attachment_message_3d2f98" ON "attachment" ("message_id");
CREATE INDEX IF NOT EXISTS "idx_attachment_sha256_dec712" ON "attachment" ("sha256");
        ALTER TABLE "conversation" ADD "share_attachments" INT NOT NULL DEFAULT 0;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "conversation" DROP COLUMN "share_attachments";
        DROP TABLE IF EXISTS "attachment";"""


MODELS_STATE = (
    "eJztXW1z47YR/isYfTm7o7h3vvOl42QyI9u61I1teWw5L60yPFiEJIwpgCEo69z0/nsXAC"
    "nxVSJlvVAMZjqpj8QC0IMlsPtgsfizMeY2ccRRq+9Tzq74sHGK/mwwPCbwR/plEzWw685f"
    "yQc+fnRU6f4I+xZWZS2HD9VL/Ch8D57B+wF2BIFHNhF9j7qymJTqjgjCE5v6CGROEXkm3g"
    "vStSD4H0ZjIgQeguR0xJFNbUT9Jhp4fAwPiAfPMbPhT+wj6AAbEvtINmzzPrRM2XCDbUwY"
    "/WNCLJ8PiQ/FoKX//A6PKbPJFyLkP/9sDChxbPV3o88ZNCywAojasgb4r5QgX1wPegDPRV"
    "hJOATU/hLB1IrWocB/cVWxhqoFoFb/+NpEsZb5lEH3oEjfI9gntoX9ku3OashpUIq6T5Zq"
    "M6ZC+neq51Yoe8n8T6qgHKdH+E3OZMzmhd0XfwTNhqUp8+XTIYEeyM7DM9+bSE1iE8cJlC"
    "9ULj0k8yJ6LCIyNhngiSP1UUrrDsyfNSzrptO17ttdy2qkdDWUiKhW8AiGReo5dFWoXz+U"
    "Xfjm+N2Hbz/84/3HD/+AIqqbsyffftVNz4HRggqem27jq3qPfWzNhzHyXWp1tUqBGxdaDn"
    "IIaQTlAMMZyGGROcrzj3xvYJ7DGui7wiSF6/kIe9nAJsQSyEKHCyCb0t9dQzvGXyyHsKE/"
    "gn++P16A48+tu/N/tu4O3h8fygY5TPd6PbgJ3hyrV3GoZ/NJUZBnAjWE9+OHAvB+/JALr3"
    "wVh9cmPqZ6eY4D3IU5OxvgiMj2IG78+bWxIYgXQNpt/9qVNY+F+MOJQnlw3fpVoTx+Cd5c"
    "dW5+DItHoD+/6pwlIO87lDDfom4ZrY4JrQR71abkDSv2RBDPglVML1dFYY5L1Q/nk7dvCw"
    "ANpXKRVu8SCj23FVNQX8Abn45JjlbHJBNw24HoUfjHPk7f8APtDnNeAsVYNNdcXrfvu63r"
    "29iEc9HqtuWb49hkEz49+JgYp1kl6JfL7j+R/Cf6d+emreDlwh96qsV5ue6/pQ/QwBOfW4"
    "xPLWxHTODwaYhafNTTTkpB+zJDciUjs3KDvQYrU7pHg6dMWz7p0cXR/sQ9QofsJ/KiQL+E"
    "nmHWz7IzA1/9PFHdnoH9NdSq8OlcbT08nfmXWcoGfwACxNdrQev+vHXR1o7pI+4/TbFnW7"
    "EhkG/4MU88mZVNvxofj5NPMINVxQ5+jex7yJi4FIaskcWl6DfNRUQKdqn1FBRayp+0kGzB"
    "RiCABtxDrseHHh4LdPC5NQEN8eh/FUqn6Ixgj3joeyj5w+fDI3Q/AqMacVCn75DwQdFshA"
    "XyRyTFn2ygjR4TI3x88hHxgfynqvqA+ogK5GFm87GiXBzOhk0kOMJIOHyKRliMEExmAjHu"
    "j6B3h2hKfXiEnqmgAF+PuR4Z0C/I58gnjiPrFQi72PNXoWyU4aDVqyR1oofQkhUY2qQitI"
    "n6/xJmY1i+hi7nu0IW47sFFuO7tMWoP70yCM8l6ojxxyIQJ229CMIfkwDLGUVOgWUgjsqs"
    "B+TdzhEbdjCN15MPfX29HgcLX67Vq4x7UnYNI18xsmFPBjrEZOFIe+SZP600znFJM8pVHu"
    "WI3V7Qho5IGNZiOWsR+jWvZCsegmr2DNyiLEVEqSrFTvg+7o/GRPU7zVDM3zYXshTxcgWI"
    "igF1CLjqLvEEZ2jiOhzbxD5F1BfgrH/xJTWgnOM+aAI6UPEWkhtQjUtmYEifCTsMgjGIl0"
    "VUrL2NHpOi3KNDyrAqcfBZUxefmzPmgjI0As32ZAjM32UXxN8l2wHwH7kvkgbx5UigA8bD"
    "UJPDHpswnzpIAIAhiRG8+07Wy6DL6JFIBkQoNkN2Ur9/I1CU/1J9HXIiVDWyvwWpDsM+bJ"
    "N9qN6Wd538tuqGxOyfDhvGLENlj09OCugslMpVWvUuQejATytF5gTla4jv+tmyMbEpLh3N"
    "FZeqI9CboH4F/W8GyrkTb1jcuFoZk662Lsvo7FzCmArLTQVwSv1JRmycxLfNJuOU7xrHei"
    "a9xTC5wGORqJUDvdH+tXvXOu9e3vx4iua19Nhdu3Xx2ymSlO5Lj7Xv7jp3UMDzuJd0qnYz"
    "ec+6UjR+cSZQh/CubQcvSs+4DNhh+S1+AiUVv7JQu+BwCMvmrMx6GRcysfvpRVMj5HMfO6"
    "VxnUkZYNPA8r5nKZhKwBqT2Z6N9zYJ6dtqwQhNDKhNAqsiQZ07HC9AMy6agHQgZfdPUxfg"
    "d9F5OLtqo9u79vnl/WXnJr7DpF7KR/CAakYdzJmr5JrGnwgro7VzAaOyCg9vwvrq96YwPO"
    "PcIZjl4BiVS0D5CIKbwnL2JIpn9mbEOnT0rNO5ilkHZ5fJ5f/h+qwNdu9hXFfTSJugk3yl"
    "rm/QyYAyKkYrDXtC1AQjVDkYYfdHKio2uLU+UVExrGtyoOJsYg9JZrhC8Ka5KFThcV6mQJ"
    "iCjh14I5A8umBj6rwgXYHal0eCeIAUvL5oXV79Zv3NOnu4+LHdhee+pNYE6mNXp5gAdz2d"
    "i2ID9b9ip3/Xm9I1jCXOjwBQY22V9kuSYmYJSFvQGqM+rNwZphTp0zF2FoEbCiYNKS15FN"
    "SwfzAvcrHBtb5uXR0cv22+e5vwUEJt/5Da55u49oqeSlzSeCoVNmFV71MG1m4W/pj1lbH8"
    "J62zBempkiWXmQL5I1/yFOFszVRHBeQO3DP1XwqeJIwZZqGs+mHmSOHug/oEGErZQWcLd+"
    "u9nJizjVlRje8HE6YTns0CVY/Ugdwj0R+RMT5iZGqFPfthU5ttiZCqImmFjvPTCh3vQVqh"
    "/bdnI4Qw9Z1SsVQzgS3uE9+QqUzS529JhQsFUx0vCKY6zgimkp/hKjZWTNCQgtWxqNKkoJ"
    "5qYe2nUOmqQ52QNyNe/RF/pmRaxvlPSJmdSfkEg/1Cn0tvTEbFdr0vufkPZI37k5oGXmVF"
    "ikuaCarKE1TKOy051lnyhuepigoUSv5m4hD+gqNuON26jXoepxtf0xVWlmJKSzJYWbJ1CL"
    "vfgm8vIcuGevnRk1B2i2yK4A5PMymzp/Gt8/vOVecUyZc9dtu66960706RTL0HHeuxH+86"
    "D7enaOjxiUp3vPszJvK4vIVpSS8iIrVFJyLkEaPjMOMWK+w6aP91nisiw/ddiHam/K6dt8"
    "oGlZbYtEtdexBe2ZIYnED40093xJntnWVHSsXuidmzlT4vTirOOyxU4zJIxXKn7NciWQip"
    "ILPCK2G61rXUVZ2ITV+rSAFCbaiprigNCLHlFLYWoD5FKqsjWMEO0Ho+v3tVWc0/wonKAO"
    "ORPvfsV+L1IKu6UzXVaFrfZHRPqFsZgT0RtcuP6RlHCm0tnGfle9zCdEOrXeKWdRgAvk95"
    "fUyp1rVQ8XaDhAclWpinSCj4y/QtONi2Ze3Kri3dZkTYBEZVIDDK43mhIst5jlC2ysl3Gg"
    "/3kt2QGR57rHV/f3nfbd10TxEGVZU/y++x+9/uu+3rUyRehE/G1aA8oDk/8/Kk/FwPERGT"
    "7qF0ugePYMFZkLilKOQxoToQq1tHHfuZkOdO63OBHUZYVGpqTxhkYGSoJOdltglSgnVQ5S"
    "3sEbgeH7t++YNCKTlzUijjrD1g5BB9Y2tZgDNlDcgZqSMUOhYRPh2vkkEiQ3zXnP9eBWzt"
    "YYq74NsKe1PYDr/v3rVb1yq/HXSP4LFKb3feub69anfbpyisF+zxbuf2tn0hy3HXJbZJe1"
    "e1aWjbZqKJd8pX9P2MfDF5V0w8a9xv4c8wRdK8oJtFjktUsg6z6zY8lxkhXcJricoYYzrD"
    "Y5l4XiZnt9CGjkiZMKWlBjPA42I/42LFhRhHpAzG5hSJWXWhDrlHKQkSPii3DKTkzFKQwa"
    "uQsSt//sQrl0I2IWfyxxbIH6ttfUvvxZSxHlOC9TMe3xfJ3PA+P3PD+1TmBp31zBqXOhsb"
    "lTHTRcZ04Q/8cpBGJAygWbyqZBhLamlUxoCa4d+kwn+KzrRpyfpNtRu44nzn+WgrR3bWOS"
    "Ft1cDOCzRtrj8jrQm1N6H2+xYLrfQrPx46VL+lMdGWVHlrRGWSN5UvcHnq47ZMKoykHOID"
    "hFVwY3jn8KnKTaxuUH4kA5iy1K3DeOATr6n+lK8DH17eXDzGdkby4420YC46rlbor8wkuN"
    "J1vGlBY11kcdWVS3JYK/M4vOrdWiFWOku2FqBvOzJDLhHEXmUI0pJmAFYfgPJ7NTFBExhT"
    "lb2bQumfDDGw6VD6VcwiYxKVJVwix0JfybXU7/BzM0GzxLUrm2HJmyQMmbVFMmsL3MOMss"
    "nnH6KsznIOIkooLecfOowobkDWgvSJfHlZUnBhkuIAPOI6L5opeOY+1KF3WYV6OfCIJhDS"
    "xMN6q85gHCK3PISzz++GhdghC2G85I16yeGXrWHKhHn5QZNUJVWGvvFw+3NHniiZuHJ+6L"
    "GLzi83+okNuiOfJaed3ZwhCeatMk5zRGSLR37+83tjs8vy9g6S8PG49LH6mYg5Vl8ecL3z"
    "T90yM3xMyEQKLJ/k5faMBaZMlmbnwxyXqh/OJ4VOTpwsODlxkj45YY6i5aNfX8bNpN6u26"
    "hnxMinwiwMz2p41v3B1fCshmfdG5QrzrPGM6pmsKyplKv5HGs81WsxhrWF+tx9kbFXnJEw"
    "8AphgagvUBS7NwKp+pErC4gRnxJbBl1NR4QpinTGliUut19r/T2mcj/CK4XLKXJAYz1F5I"
    "rmLBZMTKnfHxFN1OqhFvIKSAY1M+6PoG/QHagV+6q5HpswnzrzZnRXQH4ImoUOpiPaHyk6"
    "GPfhqSw2HXGHqN92mE8AJ79YsBqo+tsQwbskgmfDUBzaqIixA4x9tTVcTdZUkzXV0Lsma+"
    "puUN+/rHErzED1yhdncrNuO8ORyc1qcrPuNcgmN+sK6+06c7OaTBcm00XlATWZLjaxvplN"
    "/lV8nWpv76Z39U2C2b/GOJt9fJNIZfef0t7vicKYXbLuyOO+72RvisZLNBfuikJZi8JQR0"
    "sv3Rf9hKlDbCSFv6FMqKMhuN/nE+Yj2Rm1tage6lRT6EAQEpYQR2Fjh01E1fZlamN03Q30"
    "mNzvesSCIMH11iZRuTWm3HuCarSc2rsUqnpfpoCEmnJ2L4vuUD6RlzIsU1B8PYTgbncpN0"
    "Ut5W9cDkBnJl7WJa6560pUxFxklTS/Hd5/AtNK7f6XNcySssYyq7JlZuJq8z+qesXVpqzF"
    "3Rgx0aufMyyYxM3Q+eZL9DbqYqbLL3Ltl9FW6vyq3Fq3lTHRB2xP9Qs+VaaFLqBsBdCBPn"
    "iZyj6YuJq3SR+aXV/VPdYDu9wN4ruSwWCIiiBuy0YD7qEh5zY6iJUQxEc+V6iDDQQmz+PE"
    "ButF9FiYGczGYvTIYSDfgNnDfQAL9TFjXGYTg07JCh5fdDMyICxae1GrKHZp8SwALkLNyP"
    "JL7ivWA6yErUBSKUAwwzSa5S5KXqXxQLx880pfV21Vbzgub9MEx5lT0juy6td/gG5XcXJJ"
    "07IGOjwHFbvUAseyHKhxIbM5kXPNb5mpYCZQw6mghrEjtXbtqxE5UmuIlVFdHt2kmAE2rb"
    "sii6YgfTrGTp7Kikx+QsscBbL7t6YtwO2ifX553bqCebX57m0iyCacjz+kj9UDUJbgE69f"
    "6gLIhFj9YiPXH4lqwsp2G1ZmIqDMtTR77Sub4Kh86PeTs9+PnMNV+8zqHEJTMazXFUED/U"
    "A3D1dXuwqheRBqvyJj20lztfn7TUGESbGtphYLI1KO0GViD0efvlcxKPrEPbRE5Il+PmVy"
    "J8bzXqIH7vW4JAZp7Q302OdZCI3ecuGDA3n49PAzOug1JqffU/uHXmMWVaNjZfQUA+2h4Q"
    "Ts0TcCedA0HyNqowF1nFcH0ZidjA3sZMhhVX+XMNSiMjUkMTeTEFD+bZWMA0vK1S4gbP1Q"
    "kzHOilLKx3gmUD9n4/ikCLxQKp+NP0kB7GIhphyW3hEWozJApwRrOHUcn5wUQvxkAeInqc"
    "TEe5XdQk1ajXJoN1oX15c3pwjbY8p6bJ7tImnq7Iaj278D/mCg+vSZlB6G8+7lz20YByXd"
    "Y7ftmwt15N8lzFaG4cXlfevsSp7ut6mQPbSrMUQqUklvl5SemLJk17IY1Hqh1aiRLy6Fv1"
    "Zgn7LkTXRwdcJEMzgnwzT+BZlGB8s9veB4UPmhzxA3X3nVvvIS0eCpeLJXXg/eculP2rnd"
    "s08+jwRNJK0I4ntfhZHkI+91TXUCatPUbghZDsMbQXQp0WuJSOEC6WLlhEfsbyhDjx6fQm"
    "NHqDuSFCl/ogSNOPwEhEN+VFme3yEOy4eK8RcjfHzyUUb3y0vIia2u8U6TvhtopMdmgf6S"
    "1pXHFGQjQh9RCFpBfCKPN8QPTsJrWSuT15B75A9JAK9yOkDdgaGp23LB8olxskLn0UTLV4"
    "BjXs0tW4NDVjGYTSSAsc83ZJ8TsrpxPpc1I79PI78697J21qVqo74no1yIdvHImIwfs46b"
    "LYwMjYqZiNASEaHmjrxtGCvmjryt3ZEXcaoKOjYRCZNfa3lwYOhsvjIoMAw72zNwi0YDRp"
    "SqSnm0WsSj/VEjgyQK3jQX8kPzMstooXxATUxctfiK4IakMgtTRMSEtRQLa5EfVQmEg+I1"
    "RPddoUX/3YJF/13Gxbh5d6/8675zk3syIOfuFZv2ffQ/5FCxj6v/AnAlGDG3IXUfSPLqj2"
    "bcwZMVnGVZB9tczL7+H/tC3cQ="
)
