-- binary_classification (temporal) query
-- PREDICT SUM(orders.amount WHERE orders.status = 'paid', 0, 30, days) > 10 FOR EACH users.user_id WHERE users.tier IN ('gold', 'silver') AND COUNT(orders.*, -INF, 0) > 0
WITH __anchors AS (SELECT unnest($1::BIGINT[]) AS __a),
__g0 AS (
  SELECT a.__a AS __a, f."user_id" AS __e, sum(f."amount") AS v
  FROM __anchors a
  JOIN "orders" f ON f.__rg_time > a.__a + $3 AND f.__rg_time <= a.__a + $4
  WHERE f."user_id" IS NOT NULL AND f."amount" IS NOT NULL AND (f."status" = $2)
  GROUP BY ALL),
__g1 AS (
  SELECT a.__a AS __a, f."user_id" AS __e, count(*) AS v
  FROM __anchors a
  JOIN "orders" f ON f.__rg_time <= a.__a + $5
  WHERE f."user_id" IS NOT NULL
  GROUP BY ALL)
SELECT * FROM (
  SELECT e."user_id" AS "ENTITY", a.__a AS "__anchor", (COALESCE(g0.v, 0) > $9) AS "TARGET"
  FROM __anchors a CROSS JOIN "users" e
  LEFT JOIN __g0 g0 ON g0.__a = a.__a AND g0.__e = e."user_id"
  LEFT JOIN __g1 g1 ON g1.__a = a.__a AND g1.__e = e."user_id"
  WHERE ((e."tier" IN ($6, $7)) AND (COALESCE(g1.v, 0) > $8))
) __t
WHERE "TARGET" IS NOT NULL

-- bound parameters:
--   $1 = [1706659200, 1704067200]
--   $2 = 'paid'
--   $3 = 0
--   $4 = 2592000
--   $5 = 0
--   $6 = 'gold'
--   $7 = 'silver'
--   $8 = 0
--   $9 = 10