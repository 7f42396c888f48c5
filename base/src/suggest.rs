//! "Did you mean": the nearest known word to a misspelt one, for configuration errors in the
//! root crate (unknown keys, provider names) and in the provider registry (unknown kinds).

/// `"; did you mean `x`?"` for the nearest of `known` within edit distance 3, or `""`.
pub fn did_you_mean(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance between `a` and `b`, in characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_within_three_edits() {
        assert_eq!(distance("zonfile", "zonefile"), 1);
        assert_eq!(
            did_you_mean("locl", &["local", "cloudflare"]),
            "; did you mean `local`?"
        );
        assert_eq!(did_you_mean("xyzzy", &["local"]), "");
    }
}
