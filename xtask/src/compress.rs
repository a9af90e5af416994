use anyhow::{Context, bail};
use kvits_imaging::{ColorMode, Options, Processed};
use std::io::Write;
use std::path::Path;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut options = Options::default();
    let mut paths = Vec::new();
    for a in args {
        match a.as_str() {
            "--color" => options.color = ColorMode::Color,
            "--long" => options.long_receipt = true,
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            path => paths.push(path),
        }
    }
    let [input, output] = paths.as_slice() else {
        bail!("usage: cargo xtask compress IN OUT [--color] [--long]");
    };
    let bytes = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let processed =
        kvits_imaging::process(&bytes, &options).with_context(|| format!("processing {input}"))?;
    write_atomically(Path::new(output), &processed.image.jpeg)?;
    println!("{}", summary(&processed));
    Ok(())
}

/// The one-line JSON the command prints.
pub fn summary(p: &Processed) -> serde_json::Value {
    serde_json::json!({
        "width": p.image.width,
        "height": p.image.height,
        "bytes": p.image.jpeg.len(),
        "sha256": p.sha256,
        "source_orientation": p.source.orientation,
        "captured_at": p.source.captured_at,
    })
}

/// Writes next to the target and renames, so a failed run leaves no partial file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("the output path has no file name")?;
    let tmp = dir.join(format!(".{}.partial", name.to_string_lossy()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}
