// The Kotlin side of the Rust core, as a plain JVM library so its tests run on any JVM:
// UniFFI's glue for `kvits-native` (package app.kvits.core, via JNA) and the core's Event /
// ViewModel types with their bincode runtime (app.kvits.shared, com.novi.*), both generated from
// the Rust sources and never committed, plus the hand-written `Core` wrapper in src/main.
plugins {
    alias(libs.plugins.kotlin.jvm)
    `java-library`
}

kotlin {
    jvmToolchain(17)
}

val repoRoot: File = rootDir.parentFile
val generatedDir = layout.buildDirectory.dir("generated/kvits")

// `cargo xtask kotlin bindings` = `cargo xtask bindings` (builds kvits-native, runs
// uniffi-bindgen and the core's codegen); see xtask/src/kotlin.rs.
val generateKvitsBindings by tasks.registering(Exec::class) {
    description = "Generates the UniFFI glue and the core's types from the Rust sources."
    workingDir = repoRoot
    commandLine("cargo", "xtask", "kotlin", "bindings", "--out", generatedDir.get().asFile.absolutePath)
    inputs.dir(repoRoot.resolve("shared/core/src"))
    inputs.dir(repoRoot.resolve("shared/native/src"))
    outputs.dir(generatedDir)
}

sourceSets {
    main {
        kotlin.srcDir(files(generatedDir.map { it.dir("kotlin") }).builtBy(generateKvitsBindings))
        kotlin.srcDir(files(generatedDir.map { it.dir("kotlin-types") }).builtBy(generateKvitsBindings))
    }
}

dependencies {
    api(libs.kotlinx.coroutines.core)
    // The app takes JNA's Android AAR (with its native dispatch library) instead of this jar.
    compileOnly(libs.jna)
    testImplementation(libs.jna)
    testImplementation(libs.junit)
}

// The JVM tests load the host build of the Rust library and need a sync server with the demo
// firm (`./dev run` serves one on 127.0.0.1:8080). `cargo xtask kotlin test` does all of this
// without Gradle and with a fresh server; this is the same for Android Studio users.
tasks.test {
    dependsOn(generateKvitsBindings)
    systemProperty("jna.library.path", repoRoot.resolve("target/debug").absolutePath)
    environment("KVITS_SERVER_URL", System.getenv("KVITS_SERVER_URL") ?: "http://127.0.0.1:8080")
    environment("KVITS_FIXTURES", repoRoot.resolve("tests/fixtures/receipts/scans").absolutePath)
}
