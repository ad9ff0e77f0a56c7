//! Text for the report: counts with thousands separators, shares and dates, and titles
//! cut to a display width without breaking a character, an emoji sequence or a combining mark.

use chrono::{Datelike, NaiveDate};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// `1234567` → `1,234,567`: any integer (a count of rows, a gain that may be negative).
pub fn thousands(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number with one decimal place only when it has one: `61.5` → `61.5`, `62.0` → `62`, with
/// thousands separators.
pub fn decimal(v: f64) -> String {
    let tenths = (v * 10.0).round() as i64;
    let whole = thousands(tenths / 10);
    match (tenths % 10).abs() {
        0 => whole,
        // A value in (-1, 0) loses its sign in `tenths / 10`.
        d if tenths < 0 && tenths > -10 => format!("-0.{d}"),
        d => format!("{whole}.{d}"),
    }
}

/// A share as a percentage: `0.4567` → `45.7%`.
pub fn percent(share: f64) -> String {
    format!("{}%", decimal(share * 100.0))
}

/// `title` cut to at most `width` columns as a terminal counts them (East Asian wide characters
/// and emoji take two), at a grapheme cluster boundary, with `…` when anything was cut.
pub fn truncate(title: &str, width: usize) -> String {
    if title.width() <= width {
        return title.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in title.graphemes(true) {
        // An emoji sequence counts as the widest of its parts, not their sum.
        let w = g.width().min(2);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push_str(g);
    }
    let trimmed = out.trim_end();
    format!("{trimmed}…")
}

/// `Nov 21`: a date on an axis.
pub fn short_date(d: NaiveDate) -> String {
    format!("{} {}", month(d), d.day())
}

/// `Sat 21 Nov 2026`: a date in a heading.
pub fn long_date(d: NaiveDate) -> String {
    format!("{} {} {} {}", d.weekday(), d.day(), month(d), d.year())
}

fn month(d: NaiveDate) -> &'static str {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][d.month0() as usize]
}

/// `1 day`, `3 days`.
pub fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1234), "-1,234");
        assert_eq!(thousands(123_456_789_012u64), "123,456,789,012");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(decimal(61.5), "61.5");
        assert_eq!(decimal(62.0), "62");
        assert_eq!(decimal(12345.25), "12,345.3");
        assert_eq!(decimal(-0.5), "-0.5");
        assert_eq!(percent(0.4567), "45.7%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(days(1), "1 day");
        assert_eq!(days(2), "2 days");
    }

    #[test]
    fn titles_are_cut_by_display_width_at_grapheme_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a long english title", 10), "a long en…");
        // CJK characters are two columns wide: four of them and the ellipsis fit in nine.
        assert_eq!(truncate("東京タワーの夜景", 9), "東京タワ…");
        // Hangul and Thai (a base with combining marks is one cluster).
        assert_eq!(truncate("오늘의 인기 동영상", 8), "오늘의…");
        assert_eq!(truncate("สวัสดีครับทุกคน", 5), "สวัสดี…");
        // A family emoji (ZWJ sequence) is never split.
        let family = "👨\u{200d}👩\u{200d}👧";
        assert_eq!(
            truncate(&format!("{family}{family}{family}"), 5),
            format!("{family}{family}…")
        );
        // Arabic stays in logical order; only the end is cut.
        assert_eq!(truncate("مرحبا بالعالم الجميل", 8), "مرحبا ب…");
        // NFD Vietnamese: a letter and its combining accents stay together.
        let nfd = "Vie\u{0302}\u{0323}t Nam hôm nay";
        assert_eq!(truncate(nfd, 5), "Vie\u{0302}\u{0323}t…");
    }

    #[test]
    fn dates() {
        let d: NaiveDate = "2026-11-21".parse().unwrap();
        assert_eq!(short_date(d), "Nov 21");
        assert_eq!(long_date(d), "Sat 21 Nov 2026");
    }
}
