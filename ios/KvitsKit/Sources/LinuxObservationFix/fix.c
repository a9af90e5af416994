// Debian trixie's swiftlang 6.0.3 ships a libswiftObservation.so that needs
// `swift::threading::fatal(const char *, ...)`, which no library of that toolchain exports, so
// anything using `@Observable` fails to link there ("undefined reference to
// swift::threading::fatal"). This defines it under its C++ name with the meaning the Swift
// runtime gives it: report the message and abort. Built on Linux only; Apple platforms get
// Observation from the OS and never see this file's symbol.
#if defined(__linux__)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void kvits_swift_threading_fatal(const char *format, ...) __asm__("_ZN5swift9threading5fatalEPKcz");

void kvits_swift_threading_fatal(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    abort();
}
#endif
