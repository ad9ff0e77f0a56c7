-- Record which `tracked` file a date's rows came from. $1: the date, $2: the file's content
-- SHA-256, $3: its rows.
INSERT OR REPLACE INTO merged_tracked VALUES (CAST($1 AS DATE), $2, $3);
