-- `trendlake check`: chart entries (every chart's) per snapshot date, to compare with the lake's row counts.
SELECT strftime(snapshot_date, '%Y-%m-%d') AS snapshot_date, count(*)::BIGINT AS entries
FROM all_chart_entries
GROUP BY snapshot_date
ORDER BY snapshot_date;
