plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "app.kvits.android"
    compileSdk = 35

    defaultConfig {
        applicationId = "app.kvits"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        val serverUrl = providers.gradleProperty("kvits.serverUrl").getOrElse("http://10.0.2.2:8080")
        buildConfigField("String", "KVITS_SERVER_URL", "\"$serverUrl\"")
        ndk {
            // The ABIs `buildRustLibraries` builds libkvits_native.so for.
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions {
        jvmTarget = "17"
    }
}

// libkvits_native.so for each ABI, from the Rust workspace, with cargo-ndk
// (`cargo install cargo-ndk`, `rustup target add aarch64-linux-android x86_64-linux-android`,
// ANDROID_NDK_HOME set). Written to src/main/jniLibs, which is not committed.
val repoRoot: File = rootDir.parentFile
val buildRustLibraries by tasks.registering(Exec::class) {
    description = "Builds libkvits_native.so for the app's ABIs with cargo-ndk."
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "x86_64",
        "-o", layout.projectDirectory.dir("src/main/jniLibs").asFile.absolutePath,
        "build", "-p", "kvits-native", "--release",
    )
    inputs.dir(repoRoot.resolve("shared"))
    outputs.dir(layout.projectDirectory.dir("src/main/jniLibs"))
}
tasks.named("preBuild") { dependsOn(buildRustLibraries) }

dependencies {
    implementation(project(":core"))
    // JNA for Android: the AAR carries libjnidispatch.so for each ABI.
    implementation(variantOf(libs.jna) { artifactType("aar") })
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.lifecycle.process)
    implementation(libs.androidx.work.runtime.ktx)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.ui.tooling.preview)
    implementation(libs.compose.material3)
    implementation(libs.compose.material.icons)
    debugImplementation(libs.compose.ui.tooling)
    implementation(libs.camerax.core)
    implementation(libs.camerax.camera2)
    implementation(libs.camerax.lifecycle)
    implementation(libs.camerax.view)
    implementation(libs.coil.compose)
}
