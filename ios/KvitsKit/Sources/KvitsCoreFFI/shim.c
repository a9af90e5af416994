// SwiftPM builds a C target only when it has a source file. The module is the generated header
// (include/KvitsCoreFFI.h); the functions live in the Rust library, linked by `KvitsNative`.
