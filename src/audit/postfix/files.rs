//! Reading main.cf and master.cf without postconf, by the rules of postconf(5) and master(5):
//! a logical line starts with non-whitespace and continues on lines that start with whitespace;
//! lines whose first non-whitespace character is `#` are comments (a `#` after a value is part
//! of the value); master.cf's command column may carry `-o name=value` or
//! `-o { name = value with spaces }`. Values are kept unexpanded, like `postconf -n` and
//! `postconf -P` print them; defaults come from [`super::defaults`].

use std::path::Path;

use super::{PostfixConfig, Service};
use crate::audit::AuditError;

/// Read `main_cf` and `master_cf` into a configuration with the built-in defaults.
pub fn read(main_cf: &Path, master_cf: &Path) -> Result<PostfixConfig, AuditError> {
    let main_text = read_text(main_cf)?;
    let master_text = read_text(master_cf)?;
    let mut explicit = parse_main(&main_text, main_cf)?;
    // postconf -c DIR reports config_directory = DIR; do the same so `$config_directory` in
    // file names means the directory the files are in.
    if let Some(dir) = main_cf.parent().and_then(|d| std::path::absolute(d).ok()) {
        explicit
            .entry("config_directory".into())
            .or_insert_with(|| dir.display().to_string());
    }
    Ok(PostfixConfig {
        source: format!("files {} and {}", main_cf.display(), master_cf.display()),
        explicit,
        defaults: super::defaults::builtin(),
        services: parse_master(&master_text, master_cf)?,
    })
}

fn read_text(path: &Path) -> Result<String, AuditError> {
    std::fs::read_to_string(path).map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Logical lines with the number of the physical line each starts on.
fn logical_lines(text: &str, path: &Path) -> Result<Vec<(usize, String)>, AuditError> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let Some((_, last)) = lines.last_mut() else {
                return Err(syntax(
                    path,
                    index + 1,
                    "a continuation line (it starts with whitespace) before any setting",
                ));
            };
            last.push(' ');
            last.push_str(trimmed);
        } else {
            lines.push((index + 1, trimmed.to_owned()));
        }
    }
    Ok(lines)
}

fn syntax(path: &Path, line: usize, message: &str) -> AuditError {
    AuditError::Syntax {
        path: path.to_path_buf(),
        line,
        message: message.to_owned(),
    }
}

/// main.cf: `name = value` per logical line; a later setting replaces an earlier one.
pub fn parse_main(
    text: &str,
    path: &Path,
) -> Result<std::collections::BTreeMap<String, String>, AuditError> {
    let mut params = std::collections::BTreeMap::new();
    for (number, line) in logical_lines(text, path)? {
        let Some((name, value)) = line.split_once('=') else {
            return Err(syntax(
                path,
                number,
                "expected `name = value` (comments must start the line)",
            ));
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(syntax(path, number, "expected a parameter name before `=`"));
        }
        params.insert(name.to_owned(), value.trim().to_owned());
    }
    Ok(params)
}

/// master.cf: eight columns per logical line, the last one the command with its arguments.
pub fn parse_master(text: &str, path: &Path) -> Result<Vec<Service>, AuditError> {
    let mut services = Vec::new();
    for (number, line) in logical_lines(text, path)? {
        let tokens = tokens(&line);
        if tokens.len() < 8 {
            return Err(syntax(
                path,
                number,
                "expected 8 columns: service type private unpriv chroot wakeup maxproc command",
            ));
        }
        services.push(Service {
            name: tokens[0].clone(),
            kind: tokens[1].clone(),
            command: tokens[7].clone(),
            overrides: overrides(&tokens[8..], path, number)?,
        });
    }
    Ok(services)
}

/// The `-o` settings among a command's arguments.
fn overrides(
    args: &[String],
    path: &Path,
    number: usize,
) -> Result<std::collections::BTreeMap<String, String>, AuditError> {
    let mut found = std::collections::BTreeMap::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg != "-o" {
            continue;
        }
        let Some(setting) = args.next() else {
            return Err(syntax(path, number, "`-o` without `name=value` after it"));
        };
        let setting = setting
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(setting);
        let Some((name, value)) = setting.split_once('=') else {
            return Err(syntax(
                path,
                number,
                "`-o` needs `name=value` or `{ name = value }`",
            ));
        };
        found.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(found)
}

/// Split on whitespace, keeping a `{ ... }` group (which may hold spaces) as one token.
fn tokens(line: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in line.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    /// postconf(5): whitespace-led lines continue the setting; `#` lines are comments even
    /// inside a continued setting.
    #[test]
    fn postconf_5_continuation_and_comments() {
        let text = "a = one,\n  two\n# note\n  three\nb=x # not a comment\n";
        let params = parse_main(text, Path::new("main.cf")).unwrap();
        assert_eq!(params["a"], "one, two three");
        assert_eq!(params["b"], "x # not a comment");
    }

    /// A line without `=` is reported with its line number.
    #[test]
    fn main_cf_syntax_error_names_line() {
        let err = parse_main("a = 1\nbogus\n", Path::new("main.cf")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "main.cf:2: expected `name = value` (comments must start the line)"
        );
    }

    /// master(5): `-o name=value` and `-o { name = value }` on continuation lines.
    #[test]
    fn master_5_overrides_with_braces() {
        let text = "submission inet n - n - - smtpd\n  -o syslog_name=postfix/submission\n  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\npickup unix n - n 60 1 pickup\n";
        let services = parse_master(text, Path::new("master.cf")).unwrap();
        assert_eq!(services.len(), 2);
        assert_eq!(services[0].command, "smtpd");
        assert_eq!(
            services[0].overrides["smtpd_client_restrictions"],
            "permit_sasl_authenticated, reject"
        );
        assert_eq!(services[0].overrides["syslog_name"], "postfix/submission");
    }
}
