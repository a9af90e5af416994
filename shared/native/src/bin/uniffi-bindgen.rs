//! `uniffi-bindgen`, pinned to this crate's uniffi version: `cargo xtask bindings` runs it in
//! library mode on the built `libkvits_native` to write the Swift and Kotlin glue.

fn main() {
    uniffi::uniffi_bindgen_main();
}
