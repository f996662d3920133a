/* The one Apple SDK header ring's C code includes (ring-core/base.h), for
 * `cargo check --target *-apple-darwin` on Linux (tests/platforms/macos.sh):
 * what it says about a macOS target. The objects are compiled to let the
 * Rust code be type-checked, never linked: Apple's SDK is not in the package
 * registries this project may use. */
#ifndef TARGET_CONDITIONALS_H
#define TARGET_CONDITIONALS_H
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_TV 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_OS_EMBEDDED 0
#endif
