//! Pure chart arithmetic for the report: where a value lands on an axis, which ticks an axis
//! gets, and how days are binned. No I/O and no markup, so every rule is unit-tested here.

use chrono::NaiveDate;

/// A linear map from a domain to a range of pixels (either may be reversed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Linear {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        Self { domain, range }
    }

    /// Where `v` lands; a degenerate domain maps everything to the range's middle.
    pub fn at(&self, v: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return (r0 + r1) / 2.0;
        }
        r0 + (v - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// The ranks of a bump chart: the top `top` ranks (the leaders) spread evenly over the upper part
/// of the plot, so each leader's label has its own line; ranks below them down to `bottom` on a
/// log scale in the lower part, where a fall from 10 to 50 is still visible; and a band below for
/// "off the chart".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankScale {
    pub top: u32,
    pub bottom: u32,
    /// Pixel y of rank 1 and of the off-chart band's centre.
    pub y0: f64,
    pub y1: f64,
}

/// Share of the height the leaders take; the log part takes `LOG_SHARE`; the rest is the off
/// band.
const TOP_SHARE: f64 = 0.6;
const LOG_SHARE: f64 = 0.3;

impl RankScale {
    pub fn new(top: u32, bottom: u32, y0: f64, y1: f64) -> Self {
        Self {
            top: top.max(2),
            bottom: bottom.max(top.max(2) + 1),
            y0,
            y1,
        }
    }

    fn height(&self) -> f64 {
        self.y1 - self.y0
    }

    /// Pixels between two leaders' ranks.
    fn step(&self) -> f64 {
        TOP_SHARE * self.height() / (self.top as f64 - 1.0)
    }

    /// The y of a rank: 1..=top linear; top+1 one step below top, then logarithmic down to
    /// `bottom`.
    pub fn y(&self, rank: u32) -> f64 {
        let rank = rank.clamp(1, self.bottom);
        let h = self.height();
        if rank <= self.top {
            return self.y0 + f64::from(rank - 1) * self.step();
        }
        let first = f64::from(self.top + 1);
        let start = self.y0 + TOP_SHARE * h + self.step();
        let end = self.y0 + (TOP_SHARE + LOG_SHARE) * h;
        let t = (f64::from(rank).ln() - first.ln()) / (f64::from(self.bottom).ln() - first.ln());
        start + t * (end - start)
    }

    /// The y of the off-chart band.
    pub fn off(&self) -> f64 {
        self.y1
    }

    /// The boundary between the leaders' part and the log part (half a rank below `top`).
    pub fn top_boundary(&self) -> f64 {
        self.y(self.top) + self.step() / 2.0
    }

    /// Ranks to label: every leader rank, then 1-2-5 steps down to `bottom`.
    pub fn ticks(&self) -> Vec<u32> {
        let mut out: Vec<u32> = (1..=self.top).collect();
        let mut base = 1u32;
        'outer: loop {
            for m in [1, 2, 5] {
                let v = base.saturating_mul(m);
                if v > self.bottom {
                    break 'outer;
                }
                if v > self.top {
                    out.push(v);
                }
            }
            base = base.saturating_mul(10);
        }
        if *out.last().expect("ranks 1..=top") != self.bottom {
            out.push(self.bottom);
        }
        out
    }
}

/// "Nice" ticks for a linear axis over `[lo, hi]`: about `want` round numbers (1, 2, 2.5 or 5
/// times a power of ten), covering the range.
pub fn nice_ticks(lo: f64, hi: f64, want: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || want == 0 {
        return Vec::new();
    }
    if hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / want as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    // Rounded to the step's decimals, so 3 × 0.1 is 0.3, not 0.30000000000000004.
    let scale = 10f64.powi((1.0 - step.log10().floor()).max(0.0) as i32);
    let round = |v: f64| (v * scale).round() / scale;
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let v = round(start + i as f64 * step);
        if v > hi + step * 1e-9 {
            // The first tick past `hi` closes the axis unless one landed on it.
            if out.last().is_none_or(|l: &f64| *l < hi) {
                out.push(v);
            }
            break;
        }
        out.push(v);
        i += 1;
    }
    out
}

/// Days `first..=last` cut into consecutive bins of `size` days, the last bin ending on `last`
/// (so the latest day is always a bin of its own when `size` is 1, and the newest bin is full).
pub fn day_bins(first: NaiveDate, last: NaiveDate, size: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let size = i64::from(size.max(1));
    let mut out = Vec::new();
    if last < first {
        return out;
    }
    let mut end = last;
    loop {
        let start = end - chrono::Duration::days(size - 1);
        if start <= first {
            out.push((first, end));
            break;
        }
        out.push((start, end));
        end = start - chrono::Duration::days(1);
    }
    out.reverse();
    out
}

/// How many days a bin holds so that `days` days make at most `max_bins` bins.
pub fn bin_size(days: i64, max_bins: i64) -> u32 {
    let days = days.max(1);
    let max_bins = max_bins.max(1);
    ((days + max_bins - 1) / max_bins) as u32
}

/// A date axis's tick days among `days` (in order): about `want` of them, on steps of 1, 2, 7
/// or 14 days, or about 1, 2, 3 or 6 months, or a year, always including the last day.
pub fn date_ticks(days: &[NaiveDate], want: usize) -> Vec<NaiveDate> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Vec::new();
    };
    let span = (*last - *first).num_days() + 1;
    let raw = span as f64 / want.max(1) as f64;
    let step = [1, 2, 7, 14, 30, 61, 91, 182, 365]
        .into_iter()
        .find(|s| *s as f64 >= raw)
        .unwrap_or(365);
    // Counted back from the last day, so the report's own date is always labelled.
    let mut out: Vec<NaiveDate> = days
        .iter()
        .rev()
        .filter(|d| (*last - **d).num_days() % step == 0)
        .copied()
        .collect();
    out.reverse();
    out
}

/// One decimal place, enough for SVG coordinates and far smaller than the markup they'd take.
pub fn px(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn linear_maps_and_reverses() {
        let s = Linear::new((0.0, 1.0), (200.0, 0.0));
        assert_eq!(s.at(0.0), 200.0);
        assert_eq!(s.at(0.25), 150.0);
        assert_eq!(s.at(1.0), 0.0);
        assert_eq!(Linear::new((3.0, 3.0), (0.0, 10.0)).at(3.0), 5.0);
    }

    #[test]
    fn ranks_spread_the_leaders_evenly_and_compress_the_rest() {
        let s = RankScale::new(10, 200, 0.0, 300.0);
        assert_eq!(s.y(1), 0.0);
        assert_eq!(px(s.y(10)), 180.0);
        // Leaders are 20 px apart: room for a label each.
        assert_eq!(px(s.y(2) - s.y(1)), 20.0);
        assert_eq!(px(s.y(10) - s.y(9)), 20.0);
        // Rank 11 is a leader's step below 10, then log: 11→22 takes as much room as 100→200.
        assert_eq!(px(s.y(11)), 200.0);
        assert_eq!(px(s.y(22) - s.y(11)), px(s.y(200) - s.y(100)));
        assert_eq!(px(s.y(200)), 270.0);
        assert_eq!(s.off(), 300.0);
        assert!(s.y(11) > s.top_boundary() && s.top_boundary() > s.y(10));
        // Ranks beyond the chart clamp to its last rank.
        assert_eq!(s.y(500), s.y(200));
        assert_eq!(
            s.ticks(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50, 100, 200]
        );
        assert_eq!(
            RankScale::new(3, 50, 0.0, 1.0).ticks(),
            vec![1, 2, 3, 5, 10, 20, 50]
        );
        assert_eq!(
            RankScale::new(5, 7, 0.0, 1.0).ticks(),
            vec![1, 2, 3, 4, 5, 7]
        );
    }

    #[test]
    fn nice_ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(
            nice_ticks(3.0, 97.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(0.0, 0.3, 3), vec![0.0, 0.1, 0.2, 0.3]);
        assert_eq!(nice_ticks(5.0, 5.0, 3), vec![5.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 3).is_empty());
    }

    #[test]
    fn day_bins_end_on_the_last_day() {
        let bins = day_bins(day("2026-11-01"), day("2026-11-10"), 4);
        assert_eq!(
            bins,
            vec![
                (day("2026-11-01"), day("2026-11-02")),
                (day("2026-11-03"), day("2026-11-06")),
                (day("2026-11-07"), day("2026-11-10")),
            ]
        );
        assert_eq!(day_bins(day("2026-11-01"), day("2026-11-03"), 1).len(), 3);
        assert!(day_bins(day("2026-11-03"), day("2026-11-01"), 1).is_empty());
        assert_eq!(bin_size(12, 120), 1);
        assert_eq!(bin_size(120, 120), 1);
        assert_eq!(bin_size(121, 120), 2);
        assert_eq!(bin_size(1096, 120), 10);
    }

    #[test]
    fn date_ticks_step_back_from_the_last_day() {
        let days: Vec<NaiveDate> = day("2026-11-08")
            .iter_days()
            .take_while(|d| *d <= day("2026-11-21"))
            .collect();
        assert_eq!(days.len(), 14);
        let ticks = date_ticks(&days, 7);
        assert_eq!(ticks.len(), 7);
        assert_eq!(ticks.last(), Some(&day("2026-11-21")));
        assert_eq!(ticks[0], day("2026-11-09"));
        // A long axis steps by months, still ending on the last day.
        let long: Vec<NaiveDate> = day("2024-01-01")
            .iter_days()
            .take_while(|d| *d <= day("2026-11-25"))
            .collect();
        let ticks = date_ticks(&long, 8);
        assert_eq!(ticks.last(), Some(&day("2026-11-25")));
        assert!(ticks.len() <= 9 && ticks.len() >= 3, "{ticks:?}");
        assert!(date_ticks(&[], 5).is_empty());
    }
}
