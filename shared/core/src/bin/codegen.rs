//! Generates the core's types (events, effects, view model) for the shells with Crux's facet
//! typegen: Swift, Kotlin or TypeScript, into `--output-dir`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use crux_core::type_generation::facet::{Config, TypeRegistry};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Language {
    Swift,
    Kotlin,
    Typescript,
}

#[derive(Debug, Parser)]
#[command(about = "Generate the Kvits core's shared types for a shell")]
struct Args {
    #[arg(short, long, value_enum)]
    language: Language,
    #[arg(short, long)]
    output_dir: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let registry = TypeRegistry::new()
        .register_app::<shared::Kvits>()?
        .build()?;
    let name = match args.language {
        Language::Swift => "SharedTypes",
        Language::Kotlin => "app.kvits.shared",
        Language::Typescript => "shared_types",
    };
    let config = Config::builder(name, &args.output_dir).build();
    match args.language {
        Language::Swift => registry.swift(&config)?,
        Language::Kotlin => registry.kotlin(&config)?,
        Language::Typescript => registry.typescript(&config)?,
    }
    println!(
        "{:?} types written to {}",
        args.language,
        args.output_dir.display()
    );
    Ok(())
}
