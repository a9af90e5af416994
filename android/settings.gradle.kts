pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "Kvits"

// `core`: plain Kotlin/JVM — the generated UniFFI glue and core types plus the `Core` wrapper
// (tested on the JVM). `app`: the Compose UI.
include(":core", ":app")
