//! The bindings' dependency graph stays small: evcxr's analyser loads every package that
//! `cargo metadata` lists for a `:dep` crate (~4 GiB for the engine's 836), so the crate the
//! notebooks `:dep` must list at most 30 and none of the engine's heavy crates.

use std::process::Command;

#[test]
fn a_notebook_dep_on_the_bindings_lists_at_most_30_packages() {
    // What evcxr does: a scratch crate with a path dependency on the bindings.
    let dir = tempfile_dir();
    let lab = concat!(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"scratch\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\ndclab-lab = {{ path = {lab:?} }}\n\n[workspace]\n"),
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .args([
            "metadata", "--format-version", "1", "--filter-platform", "x86_64-unknown-linux-gnu",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(o.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&o.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .filter(|n| n != "scratch")
        .collect();
    assert!(
        names.contains(&"dclab-lab".to_string()) && names.contains(&"dclab-types".to_string()),
        "{names:?}"
    );
    assert!(
        names.len() <= 30,
        "{} packages in the bindings' graph (at most 30): {names:?}",
        names.len()
    );
    for heavy in ["burn", "polars", "plotly", "ndarray", "tokenizers", "dclab"] {
        assert!(!names.iter().any(|n| n == heavy), "{heavy} is in the bindings' graph: {names:?}");
    }
    println!("the bindings' graph: {} packages: {}", names.len(), names.join(", "));
    std::fs::remove_dir_all(&dir).ok();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dclab-lab-graph-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}
