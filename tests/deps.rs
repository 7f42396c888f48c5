//! No declared dependency goes unused (the check `cargo machete` makes, done here so it runs with
//! the suite and needs no extra tool): every `[dependencies]` entry of each workspace crate is
//! named in that crate's non-test sources, and every `[dev-dependencies]` entry in its tests,
//! benches or test modules.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The dependency names in one `[section]` of a manifest.
fn declared(manifest: &str, section: &str) -> Vec<String> {
    let table: toml::Table = toml::from_str(manifest).unwrap();
    table
        .get(section)
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

/// Source text with `#[cfg(test)]` modules cut off (they sit at the end of a file by the
/// project's style), so a dependency used only by unit tests does not count as used.
fn without_test_modules(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

fn used(name: &str, texts: &[String]) -> bool {
    let ident = name.replace('-', "_");
    let patterns = [
        format!("{ident}::"),
        format!("use {ident}"),
        format!("{ident} as "),
        format!("derive({ident}"),
    ];
    texts
        .iter()
        .any(|t| patterns.iter().any(|p| t.contains(p.as_str())))
}

fn check_crate(root: &Path, unused: &mut Vec<String>) {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut main_files = Vec::new();
    rust_files(&root.join("src"), &mut main_files);
    let main_texts: Vec<String> = main_files
        .iter()
        .map(|f| without_test_modules(&std::fs::read_to_string(f).unwrap()).to_owned())
        .collect();
    let mut test_files = main_files.clone();
    for dir in ["tests", "benches"] {
        rust_files(&root.join(dir), &mut test_files);
    }
    let test_texts: Vec<String> = test_files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for name in declared(&manifest, "dependencies") {
        if !used(&name, &main_texts) {
            unused.push(format!("{}: [dependencies] {name}", root.display()));
        }
    }
    for name in declared(&manifest, "dev-dependencies") {
        if !used(&name, &test_texts) {
            unused.push(format!("{}: [dev-dependencies] {name}", root.display()));
        }
    }
}

#[test]
fn no_declared_dependency_is_unused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut unused = Vec::new();
    for member in [".", "base", "providers"] {
        check_crate(&root.join(member), &mut unused);
    }
    assert!(
        unused.is_empty(),
        "unused dependencies:\n{}",
        unused.join("\n")
    );
}

#[test]
fn the_check_finds_an_unused_dependency() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[dependencies]\nserde = \"1\"\nmail-parser = \"0.11\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "use serde::Serialize;\n").unwrap();
    let mut unused = Vec::new();
    check_crate(dir.path(), &mut unused);
    assert_eq!(unused.len(), 1, "{unused:?}");
    assert!(unused[0].ends_with("mail-parser"), "{unused:?}");
}

/// The library without the default `cli` feature pulls in no command-line crate (the build
/// itself, `cargo build --lib --no-default-features`, runs in `.ci/run`).
#[test]
fn library_without_the_cli_feature_has_no_cli_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "mailauth",
            "--no-default-features",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("hickory-resolver"),
        "the tree is listed: {tree}"
    );
    for crate_name in [
        "clap ",
        "anyhow ",
        "indicatif ",
        "clap_complete ",
        "clap_mangen ",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(crate_name)),
            "{crate_name}in the library's tree"
        );
    }
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree",
            "--offline",
            "-p",
            "mailauth",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let with_cli = String::from_utf8_lossy(&out.stdout);
    assert!(
        with_cli.lines().any(|l| l.starts_with("clap ")),
        "the check can see clap"
    );
}
