//! `$name` expansion of Postfix parameter values, as postconf(5) "Parameter expansion" describes
//! it: `$name`, `${name}`, `$(name)`, `${name?value}`, `${name:value}` (with `{value}` braces too)
//! and the Postfix 3.0 comparisons `${{a} == {b} ? {yes} : {no}}` (also `!=`, `<level`,
//! `<=level`, `>level`, `>=level`) that the compatibility-level defaults are written in. Unknown
//! names expand to nothing, as in Postfix. This module owns only the text substitution; where a
//! value comes from (main.cf, defaults, a listener's `-o`) is the caller's lookup.

/// Postfix stops expanding after this many nested levels; so do we (a loop is a config error,
/// not a reason to hang).
const MAX_DEPTH: usize = 100;

/// Expand `value`, looking names up through `lookup` (which returns the raw, unexpanded value).
pub fn expand(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    expand_at(value, lookup, 0)
}

fn expand_at(value: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return String::new();
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let (text, used) = reference(&rest[at + 1..], lookup, depth);
        out.push_str(&text);
        rest = &rest[at + 1 + used..];
    }
    out.push_str(rest);
    out
}

/// Expand the reference that follows a `$`; returns the text and how many bytes were used.
fn reference(
    after: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> (String, usize) {
    match after.chars().next() {
        Some('$') => ("$".into(), 1),
        Some(open @ ('{' | '(')) => {
            let close = if open == '{' { '}' } else { ')' };
            match matching(after, open, close) {
                Some(end) => (braced(&after[1..end], lookup, depth), end + 1),
                // An unbalanced brace is left as written, like a literal.
                None => (format!("${open}"), 1),
            }
        }
        _ => {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                return ("$".into(), 0);
            }
            (named(&after[..len], lookup, depth), len)
        }
    }
}

/// The value of parameter `name`, itself expanded.
fn named(name: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> String {
    lookup(name)
        .map(|raw| expand_at(&raw, lookup, depth + 1))
        .unwrap_or_default()
}

/// The inside of `${...}`: a name, a conditional, or a comparison.
fn braced(inner: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> String {
    let inner = inner.trim();
    if inner.starts_with('{') {
        return comparison(inner, lookup, depth).unwrap_or_default();
    }
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, tail) = inner.split_at(name_len);
    let is_set = !named(name, lookup, depth).is_empty();
    let pick = |text: &str| expand_at(unbrace(text), lookup, depth + 1);
    match tail.chars().next() {
        None => named(name, lookup, depth),
        Some('?') if is_set => pick(&tail[1..]),
        Some(':') if !is_set => pick(&tail[1..]),
        _ => String::new(),
    }
}

/// `{a} OP {b} ? {yes} : {no}`; `None` when it does not have that shape.
fn comparison(text: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> Option<String> {
    let (left, rest) = group(text)?;
    let rest = rest.trim_start();
    let op_len = rest.find(|c: char| c.is_whitespace() || c == '{')?;
    let (op, rest) = rest.split_at(op_len);
    let (right, rest) = group(rest.trim_start())?;
    let rest = rest.trim_start().strip_prefix('?')?;
    let (yes, rest) = group(rest.trim_start())?;
    let rest = rest.trim_start().strip_prefix(':')?;
    let (no, _) = group(rest.trim_start())?;
    let left = expand_at(left, lookup, depth + 1);
    let right = expand_at(right, lookup, depth + 1);
    let chosen = if compare(left.trim(), op, right.trim())? {
        yes
    } else {
        no
    };
    Some(expand_at(chosen, lookup, depth + 1))
}

fn compare(left: &str, op: &str, right: &str) -> Option<bool> {
    let order = || level_order(left, right);
    Some(match op {
        "==" => left == right,
        "!=" => left != right,
        "<level" => order() == std::cmp::Ordering::Less,
        "<=level" => order() != std::cmp::Ordering::Greater,
        ">level" => order() == std::cmp::Ordering::Greater,
        ">=level" => order() != std::cmp::Ordering::Less,
        _ => return None,
    })
}

/// Compare compatibility levels such as `3.6` and `1` number by number (`3.10` > `3.9`).
fn level_order(left: &str, right: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (mut a, mut b) = (parts(left), parts(right));
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    a.cmp(&b)
}

/// A leading `{...}` group: its inside and what follows.
fn group(text: &str) -> Option<(&str, &str)> {
    let end = matching(text, '{', '}')?;
    Some((&text[1..end], &text[end + 1..]))
}

/// `{value}` -> `value`; anything else unchanged.
fn unbrace(text: &str) -> &str {
    let trimmed = text.trim();
    match group(trimmed) {
        Some((inside, "")) => inside,
        _ => text,
    }
}

/// Index of the bracket closing the one `text` starts with.
fn matching(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// postconf(5) "Parameter expansion": $name, ${name}, $(name), and $$ for a dollar.
    #[test]
    fn postconf_5_plain_references() {
        let look = with(&[("a", "x$b"), ("b", "y")]);
        assert_eq!(expand("$a ${a} $(b) $$ $", &look), "xy xy y $ $");
    }

    /// postconf(5): `${name?value}` when name is non-empty, `${name:value}` when it is empty.
    #[test]
    fn postconf_5_conditionals() {
        let look = with(&[("set", "1"), ("empty", "")]);
        assert_eq!(expand("${set?yes}${empty?no}", &look), "yes");
        assert_eq!(expand("${set:no}${empty:{a, b}}", &look), "a, b");
    }

    /// The compatibility-level defaults of Postfix 3.7 (postconf -d smtpd_relay_restrictions).
    #[test]
    fn postconf_5_compatibility_level_comparison() {
        let default = "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, defer_unauth_destination}}";
        assert_eq!(expand(default, &with(&[("compatibility_level", "0")])), "");
        assert_eq!(
            expand(default, &with(&[("compatibility_level", "3.6")])),
            "permit_mynetworks, defer_unauth_destination"
        );
        let style = "${{$compatibility_level} <level {2} ? {subnet} : {host}}";
        assert_eq!(
            expand(style, &with(&[("compatibility_level", "10")])),
            "host"
        );
    }

    /// A reference loop ends (Postfix reports it) instead of recursing forever.
    #[test]
    fn reference_loop_terminates() {
        let look = with(&[("a", "$b"), ("b", "$a")]);
        assert_eq!(expand("$a", &look), "");
    }
}
