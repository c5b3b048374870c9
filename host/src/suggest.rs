//! "Did you mean" suggestions for mistyped names.

/// The candidate closest to `typed`, if one is close enough to be a likely typo.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(typed, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("scal", ["scale", "offset", "crop"]), Some("scale"));
        assert_eq!(closest("factr", ["factor"]), Some("factor"));
        assert_eq!(closest("zzz", ["scale", "offset"]), None);
    }
}
