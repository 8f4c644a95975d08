//! Pure helpers of the statistics pages: medians and severity bands.
//!
//! Durations are aggregated by the database into histograms (number of
//! reports per whole number of days), so that a median over a million
//! reports travels as a few hundred rows; [`median_of_histogram`] reads the
//! median off such a histogram.

/// The severity bands of docs/scoring.md §2.2, in order: (code, label).
pub const SEVERITY_BANDS: [(&str, &str); 5] = [
    ("a", "0 à 10"),
    ("b", "10 à 30"),
    ("c", "30 à 50"),
    ("d", "plus de 50"),
    ("inconnue", "Non calculée"),
];

/// The band of a score (docs/scoring.md §2.2: upper bounds included).
pub fn severity_band(score: Option<f64>) -> &'static str {
    match score {
        None => "inconnue",
        Some(s) if s <= 10.0 => "a",
        Some(s) if s <= 30.0 => "b",
        Some(s) if s <= 50.0 => "c",
        Some(_) => "d",
    }
}

/// The label of a band code.
pub fn severity_band_label(code: &str) -> &'static str {
    SEVERITY_BANDS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("Non calculée", |(_, l)| l)
}

/// The median of a list of values (the mean of the two middle values when
/// the count is even); `None` for an empty list.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The median of the values described by a histogram of `(value, count)`
/// pairs, in any order. Counts of zero or less are ignored.
pub fn median_of_histogram(histogram: &[(i64, i64)]) -> Option<f64> {
    let mut bins: Vec<(i64, i64)> = histogram.iter().copied().filter(|(_, c)| *c > 0).collect();
    bins.sort_unstable();
    let total: i64 = bins.iter().map(|(_, c)| c).sum();
    if total == 0 {
        return None;
    }
    // 0-based ranks of the middle value(s).
    let low_rank = (total - 1) / 2;
    let high_rank = total / 2;
    let value_at = |rank: i64| {
        let mut seen = 0;
        for (value, count) in &bins {
            seen += count;
            if rank < seen {
                return *value;
            }
        }
        bins.last().map_or(0, |(v, _)| *v)
    };
    Some((value_at(low_rank) + value_at(high_rank)) as f64 / 2.0)
}

/// A share in percent, rounded to one decimal; 0 when the whole is 0.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// A day count for display: "12", "3,5" or "—".
pub fn days_display(days: Option<f64>) -> String {
    match days {
        None => "—".to_owned(),
        Some(d) if d.fract() == 0.0 => format!("{d:.0}"),
        Some(d) => format!("{d:.1}").replace('.', ","),
    }
}

/// Width in percent (0 to 100) of a bar of `value` in a chart whose largest
/// bar is `max`.
pub fn bar_width(value: i64, max: i64) -> u32 {
    if max <= 0 || value <= 0 {
        0
    } else {
        ((value as f64 * 100.0 / max as f64).round() as u32).clamp(1, 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_odd_and_an_even_list() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn the_median_of_a_histogram_matches_the_median_of_its_values() {
        assert_eq!(median_of_histogram(&[]), None);
        assert_eq!(median_of_histogram(&[(5, 0)]), None);
        // 1, 1, 1, 10 -> 1
        assert_eq!(median_of_histogram(&[(10, 1), (1, 3)]), Some(1.0));
        // 2, 4, 4, 9 -> 4
        assert_eq!(median_of_histogram(&[(4, 2), (2, 1), (9, 1)]), Some(4.0));
        // 2, 9 -> 5.5
        assert_eq!(median_of_histogram(&[(9, 1), (2, 1)]), Some(5.5));
        let histogram = [(0, 7), (3, 2), (12, 5), (40, 1)];
        let mut values: Vec<f64> = histogram
            .iter()
            .flat_map(|(v, c)| std::iter::repeat_n(*v as f64, *c as usize))
            .collect();
        assert_eq!(median_of_histogram(&histogram), median(&mut values));
    }

    #[test]
    fn severity_bands_follow_the_scoring_bounds() {
        assert_eq!(severity_band(None), "inconnue");
        assert_eq!(severity_band(Some(0.0)), "a");
        assert_eq!(severity_band(Some(10.0)), "a");
        assert_eq!(severity_band(Some(10.01)), "b");
        assert_eq!(severity_band(Some(30.0)), "b");
        assert_eq!(severity_band(Some(50.0)), "c");
        assert_eq!(severity_band(Some(50.77)), "d");
        assert_eq!(severity_band_label("d"), "plus de 50");
    }

    #[test]
    fn shares_days_and_bars_are_displayed_in_french() {
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(1, 0), 0.0);
        assert_eq!(days_display(Some(4.0)), "4");
        assert_eq!(days_display(Some(5.5)), "5,5");
        assert_eq!(days_display(None), "—");
        assert_eq!(bar_width(0, 10), 0);
        assert_eq!(bar_width(1, 1000), 1);
        assert_eq!(bar_width(10, 10), 100);
    }
}
