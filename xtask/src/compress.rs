use anyhow::{Context, bail};
use kvits_imaging::{CapturedAt, ColorMode, Options, Orientation, Processed};
use serde::Serialize;
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
    let line = serde_json::to_string(&summary(&processed)).context("writing the summary")?;
    write_atomically(Path::new(output), &processed.image.jpeg)?;
    println!("{line}");
    Ok(())
}

/// The one line of JSON the command prints. The fields are declared in the order the line
/// shows them (serde writes a struct's fields in declaration order; a `serde_json::Value` map
/// would sort them); `captured_at` is `null` when the photo carries no capture date.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub sha256: &'a str,
    pub source_orientation: Orientation,
    pub captured_at: Option<CapturedAt>,
}

pub fn summary(p: &Processed) -> Summary<'_> {
    Summary {
        width: p.image.width,
        height: p.image.height,
        bytes: p.image.jpeg.len(),
        sha256: &p.sha256,
        source_orientation: p.source.orientation,
        captured_at: p.source.captured_at,
    }
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
