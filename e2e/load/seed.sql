-- The county-scale data set of Carrel's load benchmark (e2e/load), built
-- set-wise inside PostgreSQL: INSERT ... SELECT over generate_series, never
-- row by row. Every value is made up. seed.go runs the steps below, each
-- named by a "-- step:" line, and fills in {{patrons}} (the number of
-- patrons), {{pin_hash}} (the one PIN hash they all share), and {{lo}} and
-- {{hi}} (a range of patron IDs, for the steps that run in chunks).
--
-- Patron n has ID n. Each of its traits comes from load_u(n, seed), a
-- uniform number in (0, 1) hashed from the ID with its own seed, so the
-- traits are independent of each other and the same on every run. The
-- shapes, per patron:
--   reading history on        35%, then Pareto-distributed (alpha 1.5):
--                             14% of them keep none, the median keeps 6,
--                             1 in 1,000 keeps about 1,000, at most 20,000;
--                             about 6.8 rows per patron over everyone
--   favorites linked          15%, then 1 to 200 favorites (Pareto, alpha 2),
--                             about 1.05 favorites per patron over everyone
--   loans 0.6, holds 0.25, fines 0.1, subscriptions 0.3, consent entries 0.9,
--   notifications 0.25 per patron; a sprinkling of interlibrary loans, email
--   reference questions and computer sessions. Nothing is already due for
--   purging: closed holds, settled fines and sent notifications are recent.

-- step: functions
CREATE OR REPLACE FUNCTION load_u(n bigint, seed bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((hashint8extended(n, seed) & 2147483647)::float8 + 0.5) / 2147483648.0 $$;

CREATE OR REPLACE FUNCTION load_pick(words text[], u float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT words[1 + floor(u * array_length(words, 1))::int] $$;

-- The words names and titles are made of: exactly 40 given names and 60
-- family names (an author is one of the 2,400 pairs), 50 adjectives and 80
-- nouns for titles, 40 subjects and 10 subdivisions.
CREATE OR REPLACE FUNCTION load_words(kind text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE kind
  WHEN 'given' THEN ARRAY['Maria','James','Mei','Carlos','Aisha','David','Sofia','Kenji','Fatima','Michael',
    'Olga','Juan','Priya','Robert','Amara','Daniel','Lucia','Wei','Grace','Ahmed','Elena','Thomas','Yuki','Samuel',
    'Rosa','Omar','Hannah','Luis','Nadia','Peter','Ana','Hiroshi','Chloe','Diego','Leila','Joseph','Ingrid','Kwame',
    'Emma','Raj']
  WHEN 'family' THEN ARRAY['Garcia','Smith','Nguyen','Johnson','Kim','Martinez','Brown','Chen','Lopez','Williams',
    'Patel','Rodriguez','Jones','Tanaka','Hernandez','Miller','Ali','Davis','Wong','Gonzalez','Wilson','Singh',
    'Anderson','Perez','Taylor','Sato','Ramirez','Thomas','Khan','Moore','Flores','Jackson','Park','Rivera','White',
    'Cohen','Torres','Harris','Okafor','Sanchez','Martin','Ivanova','Clark','Nakamura','Lewis','Diaz','Walker','Haddad',
    'Young','Morales','Allen','Novak','King','Ortiz','Wright','Rossi','Scott','Mensah','Green','Larsen']
  WHEN 'adjective' THEN ARRAY['Silent','Hidden','Last','Golden','Broken','Little','Distant','Secret','Burning','Lost',
    'Quiet','Endless','Bright','Dark','Wild','Gentle','Frozen','Hollow','Lonely','Sudden','Crimson','Northern','Small',
    'Ancient','Restless','Invisible','Salt','Second','Open','Paper','Glass','Winter','Summer','Midnight','Morning',
    'Painted','Kind','Strange','Shining','Borrowed','Forgotten','Long','Careful','Honest','Wandering','Patient',
    'Electric','Tender','Stolen','Evening']
  WHEN 'noun' THEN ARRAY['River','House','Garden','Orchard','Harbor','Letter','Mountain','Kitchen','Island','Library',
    'Daughter','Station','Forest','Window','Summer','Road','Machine','Map','Lighthouse','Promise','Bridge','Sky',
    'Ocean','Field','Stranger','City','Country','Shadow','Mirror','Voyage','Kingdom','Clock','Storm','Valley','Desert',
    'Door','Song','Orchestra','Teacher','Detective','Gardener','Painter','Castle','Village','Market','Compass',
    'Border','Archive','Fire','Tide','Harvest','Journey','Question','Secret','Winter','Moon','Star','Wolf','Fox',
    'Bird','Horse','Garden Party','Heart','Year','Night','Morning','Season','Coast','Canyon','Prairie','Lantern',
    'Ladder','Ship','Train','Cafe','Bakery','Museum','Theater','Memory','Hour']
  WHEN 'subject' THEN ARRAY['Cooking','Gardening','Science fiction','Mystery fiction','World history','Poetry',
    'Astronomy','Birds','Jazz','Photography','Travel','Climate change','Graphic novels','Local history','Chess',
    'Architecture','Psychology','Economics','Biography','Philosophy','Knitting','Woodworking','Film','Mathematics',
    'Oceanography','Religion','Art history','Fantasy fiction','Romance fiction','Sports','Medicine','Law',
    'Parenting','Computers','Languages','Music theory','Dance','Theater','Ecology','Genealogy']
  WHEN 'subdivision' THEN ARRAY['History','Juvenile literature','Fiction','Biography','Handbooks and manuals',
    'California','Study and teaching','Pictorial works','Periodicals','Dictionaries']
  WHEN 'format' THEN ARRAY['Book','Book','Book','Book','Book','eBook','eBook','Audiobook','DVD','Large print']
  WHEN 'branch' THEN ARRAY['Main Library','Ocean Park Branch','Fairview Branch','Montana Avenue Branch',
    'Pico Branch','Northwest Branch','Eastside Branch','Harbor Branch']
  WHEN 'street' THEN ARRAY['Main Street','Ocean Avenue','Pico Boulevard','Montana Avenue','Wilshire Boulevard',
    'Lincoln Boulevard','Broadway','Colorado Avenue','Ashland Avenue','Pearl Street','Hill Street','Marine Street']
  END $$;

-- step: mailing_lists
INSERT INTO mailing_lists (slug, name, description, frequency, sender, consent_text, consent_version, created_at, updated_at)
VALUES
  ('librarians-picks', 'Librarians'' Picks', 'A monthly newsletter: the newest books, films and audiobooks on our shelves, picked by our librarians.', 'monthly',
   'news@library.example.org', 'Yes, please send me Librarians'' Picks, a monthly email about new items. My address is used only for this newsletter.',
   1, now() - interval '5 years', now() - interval '5 years'),
  ('events', 'Events This Week', 'Talks, workshops and story times at every branch.', 'weekly',
   'events@library.example.org', 'Yes, please send me Events This Week, a weekly email. My address is used only for this newsletter.',
   1, now() - interval '4 years', now() - interval '4 years'),
  ('teen-news', 'Teen News', 'Programs and reading lists for teens.', 'monthly',
   'teens@library.example.org', 'Yes, please send me Teen News, a monthly email. My address is used only for this newsletter.',
   1, now() - interval '3 years', now() - interval '3 years');

-- step: patrons
INSERT INTO patrons (id, card_number, pin_hash, given_name, family_name, email, phone, postal_address, home_branch,
  card_expires_on, borrowing_status, reading_history_enabled, favorites_linked, favorites_notice, last_sign_in_at,
  created_at, updated_at)
SELECT n, '29' || lpad(n::text, 12, '0'), {{pin_hash}}, given, family,
  CASE WHEN load_u(n, 4) < 0.9 THEN lower(given) || '.' || lower(family) || '.' || n || '@example.org' ELSE '' END,
  CASE WHEN load_u(n, 5) < 0.7 THEN '310-555-' || lpad((n % 10000)::text, 4, '0') ELSE '' END,
  (1 + n % 9999) || ' ' || load_pick(load_words('street'), load_u(n, 6)) || ', Santa Monica, CA 9040' || (n % 6),
  load_pick(load_words('branch'), load_u(n, 7)),
  expires,
  CASE WHEN expires < now() THEN 'expired' WHEN load_u(n, 8) < 0.02 THEN 'blocked' ELSE 'active' END,
  load_u(n, 11) < 0.35, load_u(n, 21) < 0.15,
  CASE WHEN load_u(n, 21) >= 0.15 THEN 'none' WHEN load_u(n, 23) < 0.5 THEN 'weekly' WHEN load_u(n, 23) < 0.7 THEN 'daily' ELSE 'none' END,
  CASE WHEN load_u(n, 9) < 0.6 THEN now() - load_u(n, 10) * interval '365 days' END,
  now() - load_u(n, 3) * interval '5475 days', now()
FROM generate_series({{lo}}, {{hi}}) AS n
CROSS JOIN LATERAL (SELECT load_pick(load_words('given'), load_u(n, 1)) AS given,
  load_pick(load_words('family'), load_u(n, 2)) AS family,
  (now() + (load_u(n, 13) * 1200 - 60) * interval '1 day') AS expires) AS t;

-- step: patrons_sequence
SELECT setval(pg_get_serial_sequence('patrons', 'id'), {{patrons}});

-- step: reading_history
-- In chunks of patron IDs ({{lo}} to {{hi}}), so two can run at once.
INSERT INTO reading_history (patron_id, title, author, format, checked_out_at, returned_at)
SELECT p.id,
  'The ' || load_pick(load_words('adjective'), load_u(k, 31)) || ' ' || load_pick(load_words('noun'), load_u(k, 32)),
  load_pick(load_words('given'), load_u(k, 33)) || ' ' || load_pick(load_words('family'), load_u(k, 34)),
  load_pick(load_words('format'), load_u(k, 35)),
  r.returned - (7 + (g % 21)) * interval '1 day', r.returned
FROM patrons p
CROSS JOIN LATERAL (SELECT LEAST(20000, floor(10.2 * (power(load_u(p.id, 12), -1 / 1.5) - 1)))::int AS c) AS h
CROSS JOIN LATERAL generate_series(1, h.c) AS g
CROSS JOIN LATERAL (SELECT p.id * 20011 + g AS k,
  -- Spread over up to 15 years, at most a month apart, newest within days.
  now() - (2 + (g - 1) * GREATEST(6, LEAST(720, 131400.0 / h.c))) * interval '1 hour' AS returned) AS r
WHERE p.reading_history_enabled AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: favorites
INSERT INTO favorites (patron_id, kind, display, normalized, created_at)
SELECT p.id, f.kind, f.display, lower(f.display), now() - load_u(p.id * 211 + g, 41) * interval '1095 days'
FROM patrons p
CROSS JOIN LATERAL generate_series(1, LEAST(200, 1 + floor(6.5 * (power(load_u(p.id, 22), -0.5) - 1)))::int) AS g
CROSS JOIN LATERAL (SELECT
  CASE WHEN g % 4 = 0 THEN 'subject' ELSE 'author' END AS kind,
  -- Distinct per patron: g < 400 and < 2,400 picks distinct pairs.
  CASE WHEN g % 4 = 0
    THEN (load_words('subject'))[1 + (p.id * 17 + g) % 40] || ' -- ' || (load_words('subdivision'))[1 + ((p.id * 17 + g) % 400) / 40]
    ELSE (load_words('given'))[1 + (p.id * 131 + g) % 40] || ' ' || (load_words('family'))[1 + ((p.id * 131 + g) % 2400) / 40]
  END AS display) AS f
WHERE p.favorites_linked AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: loans
INSERT INTO loans (patron_id, title, author, format, barcode, checked_out_at, due_at, renewals, branch)
SELECT p.id,
  'The ' || load_pick(load_words('adjective'), load_u(p.id * 7 + g, 51)) || ' ' || load_pick(load_words('noun'), load_u(p.id * 7 + g, 52)),
  load_pick(load_words('given'), load_u(p.id * 7 + g, 53)) || ' ' || load_pick(load_words('family'), load_u(p.id * 7 + g, 54)),
  load_pick(load_words('format'), load_u(p.id * 7 + g, 55)),
  '3' || lpad((p.id * 8 + g)::text, 13, '0'), o.out, o.out + interval '21 days', (g % 3), p.home_branch
FROM patrons p
CROSS JOIN LATERAL generate_series(1, 1 + floor(load_u(p.id, 32) * 4)::int) AS g
CROSS JOIN LATERAL (SELECT now() - load_u(p.id * 7 + g, 56) * interval '40 days' AS out) AS o
WHERE load_u(p.id, 31) < 0.25 AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: holds
INSERT INTO holds (patron_id, title, author, pickup_branch, status, placed_at, ready_until, closed_at)
SELECT p.id,
  'The ' || load_pick(load_words('adjective'), load_u(p.id * 5 + g, 61)) || ' ' || load_pick(load_words('noun'), load_u(p.id * 5 + g, 62)),
  load_pick(load_words('given'), load_u(p.id * 5 + g, 63)) || ' ' || load_pick(load_words('family'), load_u(p.id * 5 + g, 64)),
  p.home_branch, s.status, now() - load_u(p.id * 5 + g, 65) * interval '60 days',
  CASE WHEN s.status = 'ready' THEN now() + interval '5 days' END,
  CASE WHEN s.status IN ('filled', 'cancelled') THEN now() - load_u(p.id * 5 + g, 66) * interval '29 days' END
FROM patrons p
CROSS JOIN LATERAL generate_series(1, 1 + floor(load_u(p.id, 34) * 3)::int) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['waiting','waiting','in_transit','ready','filled','cancelled'])[1 + floor(load_u(p.id * 5 + g, 67) * 6)::int] AS status) AS s
WHERE load_u(p.id, 33) < 0.12 AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: fines
INSERT INTO fines (patron_id, description, title, amount_cents, status, assessed_at, settled_at)
SELECT p.id, CASE WHEN g = 1 THEN 'Overdue item' ELSE 'Lost item replacement' END,
  'The ' || load_pick(load_words('adjective'), load_u(p.id * 3 + g, 71)) || ' ' || load_pick(load_words('noun'), load_u(p.id * 3 + g, 72)),
  25 * (1 + floor(load_u(p.id * 3 + g, 73) * 80)::int), s.status,
  now() - load_u(p.id * 3 + g, 74) * interval '300 days',
  CASE WHEN s.status <> 'outstanding' THEN now() - load_u(p.id * 3 + g, 75) * interval '89 days' END
FROM patrons p
CROSS JOIN LATERAL generate_series(1, 1 + floor(load_u(p.id, 36) * 2)::int) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['outstanding','outstanding','paid','waived'])[1 + floor(load_u(p.id * 3 + g, 76) * 4)::int] AS status) AS s
WHERE load_u(p.id, 35) < 0.07 AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: subscriptions
INSERT INTO subscriptions (patron_id, list_id, subscribed_at)
SELECT p.id, l.id, now() - load_u(p.id * 3 + l.id, 81) * interval '1000 days'
FROM patrons p
JOIN mailing_lists l ON (l.slug = 'librarians-picks' AND load_u(p.id, 82) < 0.20)
  OR (l.slug = 'events' AND load_u(p.id, 83) < 0.10) OR (l.slug = 'teen-news' AND load_u(p.id, 84) < 0.03)
WHERE p.email <> '' AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: consent_entries
-- The ledger behind every choice above: turning reading history on,
-- linking favorites, choosing notices, and each subscription.
INSERT INTO consent_entries (patron_id, subject, old_value, new_value, actor, channel, text_version, created_at)
SELECT p.id, 'reading_history', 'off', 'on', 'patron', 'web', '2026-01', p.created_at + (now() - p.created_at) * load_u(p.id, 91)
FROM patrons p WHERE p.reading_history_enabled AND p.id BETWEEN {{lo}} AND {{hi}}
UNION ALL
SELECT p.id, 'favorites_link', 'off', 'on', 'patron', 'web', 'favorites-1', now() - interval '1096 days' - load_u(p.id, 92) * interval '300 days'
FROM patrons p WHERE p.favorites_linked AND p.id BETWEEN {{lo}} AND {{hi}}
UNION ALL
SELECT p.id, 'favorites_notice', 'none', p.favorites_notice, 'patron', 'web', 'favorites-1', now() - interval '1000 days' - load_u(p.id, 93) * interval '90 days'
FROM patrons p WHERE p.favorites_linked AND p.favorites_notice <> 'none' AND p.id BETWEEN {{lo}} AND {{hi}}
UNION ALL
SELECT s.patron_id, 'mailing_list:' || l.slug, 'off', 'on', 'patron', 'web', l.consent_version::text, s.subscribed_at
FROM subscriptions s JOIN mailing_lists l ON l.id = s.list_id WHERE s.patron_id BETWEEN {{lo}} AND {{hi}};

-- step: notifications
INSERT INTO notifications (patron_id, title, author, catalog_url, reason, created_at, sent_at)
SELECT p.id,
  'The ' || load_pick(load_words('adjective'), load_u(p.id * 5 + g, 101)) || ' ' || load_pick(load_words('noun'), load_u(p.id * 5 + g, 102)),
  a.author, 'https://catalog.library.example.org/record/' || (p.id * 5 + g), a.author, c.created,
  CASE WHEN g > 1 THEN c.created + interval '6 hours' END
FROM patrons p
CROSS JOIN LATERAL generate_series(1, 1 + floor(load_u(p.id, 103) * 4)::int) AS g
CROSS JOIN LATERAL (SELECT (load_words('given'))[1 + (p.id * 131 + 1) % 40] || ' ' || (load_words('family'))[1 + ((p.id * 131 + 1) % 2400) / 40] AS author) AS a
CROSS JOIN LATERAL (SELECT now() - load_u(p.id * 5 + g, 104) * interval '29 days' AS created) AS c
WHERE p.favorites_linked AND p.favorites_notice <> 'none' AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: sprinkles
-- Interlibrary loans, email reference questions within their 12 months,
-- and computer sessions within their 24 hours.
INSERT INTO ill_requests (patron_id, title, author, lending_library, status, requested_at, completed_at)
SELECT p.id, 'The Far ' || load_pick(load_words('noun'), load_u(p.id, 111)),
  load_pick(load_words('given'), load_u(p.id, 112)) || ' ' || load_pick(load_words('family'), load_u(p.id, 113)),
  'UCLA Library', CASE WHEN load_u(p.id, 114) < 0.7 THEN 'requested' ELSE 'returned' END,
  now() - load_u(p.id, 115) * interval '60 days',
  CASE WHEN load_u(p.id, 114) >= 0.7 THEN now() - load_u(p.id, 116) * interval '80 days' END
FROM patrons p WHERE load_u(p.id, 110) < 0.01 AND p.id BETWEEN {{lo}} AND {{hi}};
INSERT INTO reference_questions (patron_id, subject, question, answer, asked_at, answered_at)
SELECT p.id, load_pick(load_words('subject'), load_u(p.id, 121)),
  'Do you have anything about ' || lower(load_pick(load_words('subject'), load_u(p.id, 121))) || ' for a beginner?',
  'Yes: start with the titles on the list attached, all at the Main Library.', a.asked, a.asked + interval '1 day'
FROM patrons p CROSS JOIN LATERAL (SELECT now() - load_u(p.id, 122) * interval '360 days' AS asked) AS a
WHERE load_u(p.id, 120) < 0.01 AND p.id BETWEEN {{lo}} AND {{hi}};
INSERT INTO computer_sessions (patron_id, branch, station, started_at, ended_at)
SELECT p.id, p.home_branch, 'PC-' || lpad((p.id % 40)::text, 2, '0'), s.started, s.started + interval '45 minutes'
FROM patrons p CROSS JOIN LATERAL (SELECT now() - load_u(p.id, 131) * interval '22 hours' AS started) AS s
WHERE load_u(p.id, 130) < 0.004 AND p.id BETWEEN {{lo}} AND {{hi}};

-- step: cleanup
DROP FUNCTION load_words(text);
DROP FUNCTION load_pick(text[], float8);
DROP FUNCTION load_u(bigint, bigint);
