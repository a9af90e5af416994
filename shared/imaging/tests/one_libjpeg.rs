//! "Never link two libjpeg variants into one binary", checked on the workspace's `Cargo.lock`:
//! two libjpeg builds in one process export the same `jpeg_*` C symbols, and which one a call
//! reaches is then up to the linker. Only libjpeg-turbo (behind the `turbo` feature) may be in
//! the lock.

use std::collections::BTreeSet;

/// Crates that build or link a libjpeg, and which libjpeg that is. A wrapper and its `-sys`
/// crate bring the same library; two different libraries, or two copies of one `-sys` crate, are
/// what the rule forbids.
const PROVIDERS: [(&str, &str); 9] = [
    ("turbojpeg", "libjpeg-turbo"),
    ("turbojpeg-sys", "libjpeg-turbo"),
    ("libjpeg-turbo-sys", "libjpeg-turbo"),
    ("mozjpeg", "mozjpeg"),
    ("mozjpeg-sys", "mozjpeg"),
    ("jpegli", "jpegli"),
    ("jpegli-sys", "jpegli"),
    ("libjpeg-sys", "IJG libjpeg"),
    ("jpeg-sys", "IJG libjpeg"),
];

/// Every `[[package]]` of a lock file as (name, version).
fn packages(lock: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            entry.lines().find_map(|line| {
                let value = line.trim().strip_prefix(key)?.trim_start();
                let value = value.strip_prefix('=')?.trim();
                Some(value.trim_matches('"').to_string())
            })
        };
        if let (Some(name), Some(version)) = (field("name"), field("version")) {
            out.push((name, version));
        }
    }
    out
}

/// What breaks the rule in a lock file, if anything.
fn violation(lock: &str) -> Option<String> {
    let found: Vec<(String, String, &str)> = packages(lock)
        .into_iter()
        .filter_map(|(name, version)| {
            let (_, library) = PROVIDERS
                .iter()
                .find(|(crate_name, _)| *crate_name == name)?;
            Some((name, version, *library))
        })
        .collect();
    let libraries: BTreeSet<&str> = found.iter().map(|(_, _, l)| *l).collect();
    let sys_crates = found.iter().filter(|(n, _, _)| n.ends_with("-sys")).count();
    (libraries.len() > 1 || sys_crates > 1).then(|| {
        let list: Vec<String> = found
            .iter()
            .map(|(n, v, l)| format!("{n} {v} ({l})"))
            .collect();
        format!("more than one libjpeg in the lock: {}", list.join(", "))
    })
}

fn lock(entries: &[(&str, &str)]) -> String {
    let mut s = String::from("version = 4\n");
    for (name, version) in entries {
        s.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ));
    }
    s
}

#[test]
fn the_workspace_links_at_most_one_libjpeg() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let all = packages(&text);
    // The parser sees the lock: our own crate and the one libjpeg we do use are in it.
    assert!(all.iter().any(|(n, _)| n == "kvits-imaging"), "{path}");
    assert!(all.iter().any(|(n, _)| n == "turbojpeg-sys"), "{path}");
    if let Some(v) = violation(&text) {
        panic!("{path}: {v}");
    }
}

#[test]
fn the_check_catches_a_second_libjpeg() {
    let ours = [("turbojpeg", "0.5.4"), ("turbojpeg-sys", "0.2.3")];
    assert_eq!(violation(&lock(&ours)), None);
    assert_eq!(violation(&lock(&[("zune-jpeg", "0.5.16")])), None);
    for extra in [
        ("mozjpeg-sys", "2.2.3"),
        ("mozjpeg", "0.10.13"),
        ("jpegli-sys", "0.1.0"),
        ("libjpeg-sys", "0.1.0"),
        ("turbojpeg-sys", "1.1.1"),
    ] {
        let mut entries = ours.to_vec();
        entries.push(extra);
        let v = violation(&lock(&entries));
        assert!(
            v.as_deref().is_some_and(|v| v.contains(extra.0)),
            "{extra:?}: {v:?}"
        );
    }
}
